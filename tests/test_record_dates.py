"""Facts dated by the record: an imported row keeps its own date and channel, its age is checked
at that date, its registration number carries that year; the SKU letter says only what the
participant's steps show."""
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from tests.conftest import post_form
from tests.test_import import mapping_form, upload
from tests.test_steps import give_steps, set_mode

HEADER = "NIK,Nama lengkap,Kelurahan,Sektor usaha,Tahap usaha,Tanggal daftar,Saluran pendaftaran\n"


def preview_and_commit(client, rows: list[str]):
    response = upload(client, "data-2018.csv", (HEADER + "\n".join(rows) + "\n").encode())
    assert response.status_code == 302, response.get_data(as_text=True)
    map_url = response.headers["Location"]
    mapping = mapping_form(client.get(map_url).get_data(as_text=True))
    assert mapping["map_registered_on"] and mapping["map_channel"]  # both columns recognised
    preview = post_form(client, map_url, mapping, token_url=map_url).get_data(as_text=True)
    done = post_form(client, map_url + "/simpan", mapping, token_url=map_url)
    return preview, done.get_data(as_text=True)


def test_an_imported_row_keeps_its_date_channel_and_year(app, client, login_as):
    login_as("staff")
    preview, done = preview_and_commit(client, [
        "3174011708859901,Budi Santoso,Manggarai,Kuliner,Ide,07-01-2018,Daring",
        "3174014503909902,Siti Aminah,Manggarai,Kriya,Ide,15-02-2018,Datang langsung",
        "3174011708859903,Rudi Hartono,Manggarai,Kriya,Ide,20-02-2018,",
        "3174011708859904,Ani Lestari,Manggarai,Kriya,Ide,20-02-2018,Pos surat",
    ])
    assert "Pos surat" in preview and "tidak dikenal" in preview  # an unknown channel is a row error
    assert re.search(r'id="created-count">3<', done)
    with app.app_context():
        rows = {p.nik: p for p in db.session.scalars(select(Participant))}
        assert {nik: p.channel for nik, p in rows.items()} == {
            "3174011708859901": "online", "3174014503909902": "walkin", "3174011708859903": "import"}
        budi = rows["3174011708859901"]
        assert budi.status == "active" and budi.reg_number.startswith("317401-2018-")
        p1 = db.session.scalars(select(ParticipantStep).where(ParticipantStep.participant_id == budi.id,
                                                              ParticipantStep.step == 1)).one()
        assert p1.completed_on == date(2018, 1, 7)


def test_age_is_checked_at_the_registration_date(app, client, login_as):
    login_as("staff")
    # Born 17-08-2004: 13 in January 2018 (refused), though over 17 today.
    preview, done = preview_and_commit(client, [
        "3174011708049905,Anak Muda,Manggarai,Kuliner,Ide,07-01-2018,Daring",
        "3174011708859906,Orang Dewasa,Manggarai,Kuliner,Ide,07-01-2018,Daring",
    ])
    assert "pada tanggal pendaftaran" in preview and "17 tahun" in preview
    assert re.search(r'id="created-count">1<', done)
    with app.app_context():
        assert [p.name for p in db.session.scalars(select(Participant))] == ["Orang Dewasa"]


def letter_text(client, participant_id: int) -> str:
    """Print the participant's SKU request letter at the desk and read the PDF's text."""
    url = f"/peserta/{participant_id}/surat-sku"
    response = post_form(client, url, {"signer": "lain", "signer_name": "Sekcam", "signer_title": "Sekretaris"},
                         token_url=url)
    assert response.status_code == 302 and response.headers["Location"].endswith(".pdf"), response.status_code
    pdf = client.get(response.headers["Location"])
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.data)).pages)


@pytest.mark.parametrize("steps, trained, mentored", [
    ((), False, False), ((2,), True, False), ((3,), False, True), ((2, 3), True, True)])
def test_the_sku_letter_states_only_the_steps_on_record(app, client, login_as, make_participant,
                                                         steps, trained, mentored):
    set_mode(app, "bebas")  # the letter, not the step order, is under test
    login_as("staff")
    pid = make_participant()
    if steps:
        give_steps(app, pid, *steps)
    text = letter_text(client, pid)
    assert "Siti Aminah" in text and "terdaftar sebagai peserta" in text
    assert ("pelatihan kewirausahaan" in text) is trained
    assert ("pendampingan" in text) is mentored
