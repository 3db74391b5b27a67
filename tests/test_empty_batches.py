"""A batch with nothing in it prints nothing: it says so, in Indonesian, on the page it came from
(certificates of a course with none issued, a day's card sheet, SKU letters, booth and sign-up lists)."""
import pytest

from tests.conftest import post_form
from tests.test_events import make_event


def said(client, response) -> str:
    assert response.status_code == 302 and response.mimetype != "application/pdf"
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_every_empty_batch_says_there_is_nothing_to_print(app, client, login_as, make_course):
    login_as("staff")
    course_id = make_course(meetings=1)
    assert "Belum ada sertifikat yang diterbitkan untuk pelatihan ini" in said(
        client, client.get(f"/pelatihan/{course_id}/sertifikat.pdf"))
    assert "Tidak ada peserta yang terdaftar pada 1-1-2020 untuk dicetak kartunya" in said(
        client, client.get("/peserta/kartu.pdf?tanggal=2020-01-01"))
    assert "Pilih peserta yang akan dibuatkan surat" in said(
        client, post_form(client, "/siap-izin/surat.pdf", {}))
    event_id = make_event(app, booths=5)
    assert "belum ada peserta terkonfirmasi yang mendapat stan" in said(client, client.get(f"/acara/{event_id}/stan.pdf"))
    assert "belum ada pendaftar di acara ini" in said(client, client.get(f"/acara/{event_id}/pendaftar.pdf"))


@pytest.mark.parametrize("day", ["2020-01-01", "2099-12-31"])
def test_an_empty_card_sheet_is_not_a_pdf(client, login_as, day):
    login_as("staff")
    response = client.get(f"/peserta/kartu.pdf?tanggal={day}")
    assert response.status_code == 302 and response.headers["Location"] == "/peserta"
