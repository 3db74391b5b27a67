"""P3–P7 and the step-order rule: visits, licences, SKU letters, reports, capital."""
import io
import re
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.business.services import BusinessError, parse_rupiah
from app.core.audit import AuditLog
from app.core.timeutil import today_wib
from app.extensions import db
from app.licensing.models import License, SkuLetter
from app.participants.models import Participant, ParticipantStep
from app.participants.services import record_step
from app.settings.models import ProgramSetting
from tests.conftest import csrf_from, login, post_form


def set_mode(app, mode):
    with app.app_context():
        settings = db.session.get(ProgramSetting, 1) or ProgramSetting(id=1)
        settings.mode = mode
        db.session.add(settings)
        db.session.commit()


def give_steps(app, participant_id, *steps):
    """Steps dated 30 days ago; the registration (P1) moves back to that day first (no step before P1)."""
    on = today_wib() - timedelta(days=30)
    with app.app_context():
        p = db.session.get(Participant, participant_id)
        record_step(p, 1, on, "test")
        for step in steps:
            record_step(p, step, on, "test")
        db.session.commit()


def steps_of(app, participant_id):
    with app.app_context():
        return sorted(db.session.scalars(select(ParticipantStep.step).where(
            ParticipantStep.participant_id == participant_id)))


# --- Step order ----------------------------------------------------------------------------

def test_sequential_mode_refuses_a_licence_before_mentoring(app, client, login_as, make_participant):
    set_mode(app, "berurutan")
    login_as("staff")
    pid = make_participant()
    give_steps(app, pid, 2)
    url = f"/peserta/{pid}/izin"
    response = post_form(client, url, {"kind": "nib", "number": "1234567890123", "issued_on": today_wib().isoformat()},
                         token_url=url, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "langkah P3 Pendampingan belum selesai untuk peserta ini" in html
    assert steps_of(app, pid) == [1, 2]


def test_free_mode_allows_any_order_and_timeline_says_so(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/izin"
    response = post_form(client, url, {"kind": "nib", "number": "1234567890123", "issued_on": today_wib().isoformat()},
                         token_url=url)
    assert response.status_code == 302
    assert steps_of(app, pid) == [1, 4]
    page = client.get(f"/peserta/{pid}").get_data(as_text=True)
    assert "tidak berurutan" in page
    # Switching back keeps every record.
    set_mode(app, "berurutan")
    assert steps_of(app, pid) == [1, 4]


# --- Licences -------------------------------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    ({"kind": "nib", "number": "12345"}, "NIB harus 13 angka (yang diisi 5 angka)."),
    ({"kind": "nib", "number": "12345678901AB"}, "NIB hanya boleh berisi angka."),
    ({"kind": "iumk", "number": ""}, "Nomor izin wajib diisi."),
    ({"kind": "", "number": "1"}, "Pilih jenis izin."),
    ({"kind": "sku", "number": "001/SKU/2026", "kelurahan_id": ""}, "Pilih kelurahan yang menerbitkan SKU."),
    ({"kind": "iumk", "number": "IUMK-1", "issued_on": "2099-01-01"}, "tidak boleh di masa depan"),
])
def test_bad_licences(app, client, login_as, make_participant, data, message):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/izin"
    payload = {"issued_on": today_wib().isoformat(), "kelurahan_id": "", **data}
    response = post_form(client, url, payload, token_url=url)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(License)) == 0


def test_duplicate_licence_number(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    first, second = make_participant(), make_participant(nik="3174014503909902", name="Ani")
    for pid, expected in ((first, 302), (second, 422)):
        url = f"/peserta/{pid}/izin"
        response = post_form(client, url, {"kind": "nib", "number": "1234567890123",
                                           "issued_on": today_wib().isoformat()}, token_url=url)
        assert response.status_code == expected
    assert "sudah tercatat" in response.get_data(as_text=True)


def test_trained_to_licensed_from_the_participant_page(app, client, login_as, make_participant):
    """Letter printed, SKU recorded (closing the letter), P4 shown — the desk's one-minute path."""
    set_mode(app, "berurutan")
    login_as("staff")
    pid = make_participant()
    give_steps(app, pid, 2, 3)
    page = client.get(f"/peserta/{pid}").get_data(as_text=True)
    assert "Cetak surat pengantar SKU" in page and "Catat izin usaha" in page
    url = f"/peserta/{pid}/surat-sku"
    with app.app_context():
        from app.settings.services import save_letterhead
        from tests.conftest import kecamatan_by_code

        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet",
                                                       "camat_name": "Drs. Camat Tebet", "camat_nip": ""})
        db.session.commit()
    response = post_form(client, url, {"signer": "camat"}, token_url=url)
    assert response.status_code == 302 and response.headers["Location"].endswith(".pdf")
    pdf = client.get(response.headers["Location"])
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    month = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"][today_wib().month - 1]
    assert f"001/PKT/{month}/{today_wib().year}" in text and "Surat Keterangan Usaha" in text
    assert "Lurah" in text and "Drs. Camat Tebet" in text and "Siti Aminah" in text
    # Printing again keeps the number.
    again = post_form(client, url, {"signer": "camat"}, token_url=url)
    assert again.headers["Location"] == response.headers["Location"]
    with app.app_context():
        letter = db.session.scalars(select(SkuLetter)).one()
        kel = db.session.get(Participant, pid).kelurahan_id
        code = letter.code
    lic_url = f"/peserta/{pid}/izin"
    done = post_form(client, lic_url, {"kind": "sku", "number": "12/SKU/2026", "issued_on": today_wib().isoformat(),
                                       "kelurahan_id": str(kel)}, token_url=lic_url, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "P4 Perizinan tercapai" in html and "12/SKU/2026" in html and "SKU terbit" in html
    assert steps_of(app, pid) == [1, 2, 3, 4]
    with app.app_context():
        lic = db.session.scalars(select(License)).one()
        assert lic.letter_id == letter.id and db.session.get(SkuLetter, letter.id).status == "issued"
    public = app.test_client().get(f"/surat/{code}")
    assert public.status_code == 200 and "SKU terbit" in public.get_data(as_text=True)
    assert "Siti Aminah" not in public.get_data(as_text=True)
    assert app.test_client().get("/surat/NGAWUR").status_code == 404


def test_letter_cancel_once_with_reason(app, client, login_as, make_participant):
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/surat-sku"
    post_form(client, url, {"signer": "lain", "signer_name": "Sekcam", "signer_title": "Sekretaris Kecamatan"},
              token_url=url)
    with app.app_context():
        letter_id = db.session.scalars(select(SkuLetter.id)).one()
    cancel_url = f"/surat-sku/{letter_id}/batal"
    empty = post_form(client, cancel_url, {"reason": ""}, token_url=cancel_url)
    assert empty.status_code == 422 and "Alasan pembatalan wajib diisi." in empty.get_data(as_text=True)
    assert post_form(client, cancel_url, {"reason": "Salah kelurahan"}, token_url=cancel_url).status_code == 302
    twice = post_form(client, cancel_url, {"reason": "Lagi"}, token_url=cancel_url)
    assert twice.status_code == 422 and "sudah dibatalkan sebelumnya" in twice.get_data(as_text=True)
    # A new letter gets the next number; the cancelled one keeps its own.
    post_form(client, url, {"signer": "lain", "signer_name": "Sekcam", "signer_title": "Sekretaris Kecamatan"},
              token_url=url)
    with app.app_context():
        numbers = sorted(db.session.scalars(select(SkuLetter.sequence)))
    assert numbers == [1, 2]
    register = client.get("/surat-sku").get_data(as_text=True)
    assert "Salah kelurahan" in register and "002/PKT/" in register


def test_two_letters_at_once_never_share_a_number(app, make_user, make_participant):
    staff = make_user("staff")
    pids = [make_participant(), make_participant(nik="3174014503909902", name="Ani")]
    clients = []
    for pid in pids:
        c = app.test_client()
        login(c, staff.username)
        clients.append((c, csrf_from(c, f"/peserta/{pid}/surat-sku"), pid))
    barrier = threading.Barrier(2)
    statuses = []

    def go(c, token, pid):
        barrier.wait()
        statuses.append(c.post(f"/peserta/{pid}/surat-sku", data={"csrf_token": token, "signer": "lain",
                                                                 "signer_name": "Sekcam", "signer_title": "Sekcam"}).status_code)

    threads = [threading.Thread(target=go, args=item) for item in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302, 302]
    with app.app_context():
        assert sorted(db.session.scalars(select(SkuLetter.sequence))) == [1, 2]


def test_ready_for_licensing_list_and_batch(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    trained = make_participant(name="Sudah Latih")
    give_steps(app, trained, 2)
    licensed = make_participant(nik="3174014503909902", name="Sudah Izin")
    give_steps(app, licensed, 2, 4)
    make_participant(nik="3174011708859903", name="Belum Latih")
    html = client.get("/siap-izin").get_data(as_text=True)
    assert "Sudah Latih" in html and "Sudah Izin" not in html and "Belum Latih" not in html
    no_camat = post_form(client, "/siap-izin/surat.pdf", {"participant_id": str(trained)}, token_url="/siap-izin",
                         follow_redirects=True)
    assert "Nama penanda tangan wajib diisi" in no_camat.get_data(as_text=True)
    with app.app_context():
        from app.settings.services import save_letterhead
        from tests.conftest import kecamatan_by_code

        save_letterhead(kecamatan_by_code("31.74.01"), {"office_name": "Kantor Kecamatan Tebet", "camat_name": "Camat"})
        db.session.commit()
    response = post_form(client, "/siap-izin/surat.pdf", {"participant_id": str(trained)}, token_url="/siap-izin")
    assert response.mimetype == "application/pdf"
    assert "Sudah Latih" in PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    set_mode(app, "berurutan")
    assert "Sudah Latih" not in client.get("/siap-izin").get_data(as_text=True)  # needs P3 too


# --- Mentoring ------------------------------------------------------------------------------

def test_assign_pendamping_and_first_visit_completes_p3(app, client, login_as, make_user, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pendamping = make_user("pendamping", username="pendamping.tebet")
    pids = [make_participant(), make_participant(nik="3174014503909902", name="Ani")]
    post_form(client, "/pendampingan", {"participant_id": [str(p) for p in pids], "pendamping_id": str(pendamping.id)},
              token_url="/pendampingan")
    with app.app_context():
        assert {db.session.get(Participant, p).pendamping_id for p in pids} == {pendamping.id}
    other = make_participant(nik="3174011708859903", name="Bukan Dampingan")
    mentor = app.test_client()
    login(mentor, "pendamping.tebet")
    mine = mentor.get("/pendampingan/saya").get_data(as_text=True)
    assert "Siti Aminah" in mine and "Ani" in mine and "Bukan Dampingan" not in mine and "P2 Pelatihan" in mine
    assert mentor.get(f"/peserta/{other}/kunjungan").status_code == 404
    url = f"/peserta/{pids[0]}/kunjungan"
    bad = post_form(mentor, url, {"visit_date": "2099-01-01", "topic": ""}, token_url=url)
    assert bad.status_code == 422 and "tidak boleh di masa depan" in bad.get_data(as_text=True)
    ok = post_form(mentor, url, {"visit_date": today_wib().isoformat(), "topic": "Kemasan produk",
                                 "notes": "Perlu label", "next_step": "Urus NIB"}, token_url=url)
    assert ok.status_code == 302
    assert 3 in steps_of(app, pids[0])
    assert "Kemasan produk" in mentor.get(url).get_data(as_text=True)


# --- P6 and P7 -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw,value", [("1.500.000", 1500000), ("1500000", 1500000), ("Rp 2.000", 2000), ("0", 0)])
def test_parse_rupiah(raw, value):
    assert parse_rupiah(raw, "x", "Jumlah") == value


@pytest.mark.parametrize("raw,message", [("-5", "negatif"), ("satu juta", "harus angka"), ("1,5", "harus angka"),
                                         ("", "wajib diisi"), ("1.50.000", "harus angka")])
def test_parse_rupiah_refuses(raw, message):
    with pytest.raises(BusinessError, match=message):
        parse_rupiah(raw, "x", "Jumlah")


def test_financial_reports_one_per_month(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/keuangan"
    month = today_wib().strftime("%Y-%m")
    data = {"month": month, "revenue": "1.500.000", "costs": "900000", "employees": "2", "note": ""}
    assert post_form(client, url, data, token_url=url).status_code == 302
    dup = post_form(client, url, data, token_url=url)
    assert dup.status_code == 422 and "ubah laporan tersebut" in dup.get_data(as_text=True)
    neg = post_form(client, url, {**data, "month": "2020-01", "revenue": "-1"}, token_url=url)
    assert neg.status_code == 422 and "tidak boleh negatif" in neg.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert "Rp 1.500.000" in page and "Rp 600.000" in page
    assert 6 in steps_of(app, pid)


def test_capital_approval_completes_p7(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/permodalan"
    day = today_wib().isoformat()
    bad = post_form(client, url, {"institution": "Bank DKI", "product": "KUR Mikro", "amount": "abc",
                                  "referred_on": day}, token_url=url)
    assert bad.status_code == 422 and "harus angka rupiah" in bad.get_data(as_text=True)
    post_form(client, url, {"institution": "Bank DKI", "product": "KUR Mikro", "amount": "25.000.000",
                            "referred_on": day}, token_url=url)
    from app.business.models import CapitalApplication

    with app.app_context():
        app_id = db.session.scalars(select(CapitalApplication.id)).one()
    skip = post_form(client, f"/permodalan/{app_id}/status", {"status": "approved", "on": day}, token_url=url,
                     follow_redirects=True)
    assert "tidak dapat diubah dari Dirujuk ke Disetujui" in skip.get_data(as_text=True)
    post_form(client, f"/permodalan/{app_id}/status", {"status": "applied", "on": day}, token_url=url)
    assert 7 not in steps_of(app, pid)
    done = post_form(client, f"/permodalan/{app_id}/status", {"status": "approved", "on": day}, token_url=url,
                     follow_redirects=True)
    assert "Disetujui" in done.get_data(as_text=True) and "Rp 25.000.000" in done.get_data(as_text=True)
    assert 7 in steps_of(app, pid)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "capital.status")) == 2


def test_participant_page_sections_follow_the_steps(app, client, login_as, make_participant):
    login_as("staff")
    html = client.get(f"/peserta/{make_participant()}").get_data(as_text=True)
    assert html.index("Pendampingan (P3)") < html.index("Izin usaha (P4)") < html.index("Laporan keuangan (P6)")


def test_licence_without_a_date_says_so(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()
    url = f"/peserta/{pid}/izin"
    response = post_form(client, url, {"kind": "iumk", "number": "IUMK-9", "issued_on": ""}, token_url=url)
    assert response.status_code == 422 and "Tanggal terbit wajib diisi." in response.get_data(as_text=True)


def _kelurahan_id(app, code):
    from app.regions.models import Kelurahan

    with app.app_context():
        return db.session.scalars(select(Kelurahan.id).where(Kelurahan.code == code)).one()


def test_sku_kelurahan_must_lie_within_the_participants_scope(app, client, login_as, make_participant):
    """The form offers the participant's kecamatan's kelurahan (and their own); any other id is refused
    next to the field and nothing is saved."""
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant()  # Tebet, living in Tebet Timur
    url = f"/peserta/{pid}/izin"
    form = client.get(url).get_data(as_text=True)
    select_html = re.search(r'<select id="kelurahan_id"[^>]*>(.*?)</select>', form, re.S).group(1)
    offered = re.findall(r'<option[^>]* value="(\d+)"', select_html)
    assert sorted(offered) == sorted(str(_kelurahan_id(app, f"31.74.01.100{n}")) for n in range(1, 8))
    assert "Setia Budi" not in select_html and "Cikini" not in select_html
    base = {"kind": "sku", "number": "5/SKU/2026", "issued_on": today_wib().isoformat()}
    for outside in (str(_kelurahan_id(app, "31.74.02.1001")), str(_kelurahan_id(app, "31.71.06.1003")), "999999"):
        response = post_form(client, url, {**base, "kelurahan_id": outside}, token_url=url)
        html = response.get_data(as_text=True)
        error = re.search(r'<p class="error" id="kelurahan_id-error">(.*?)</p>', html, re.S)
        assert response.status_code == 422 and error
        assert "Kelurahan penerbit SKU harus di Kecamatan Tebet atau kelurahan domisili peserta" in error.group(1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(License)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "license.create")) == 0
    assert steps_of(app, pid) == [1]
    inside = post_form(client, url, {**base, "kelurahan_id": str(_kelurahan_id(app, "31.74.01.1007"))}, token_url=url)
    assert inside.status_code == 302 and steps_of(app, pid) == [1, 4]


def test_sku_from_the_kelurahan_a_participant_lives_in_elsewhere(app, client, login_as, make_participant):
    """Registered at Tebet while living in Setiabudi's Karet: that kelurahan is offered (named with its
    kecamatan) and accepted; Setiabudi's other kelurahan are not."""
    set_mode(app, "bebas")
    login_as("staff")
    pid = make_participant(kelurahan="31.74.02.1004")
    url = f"/peserta/{pid}/izin"
    karet = str(_kelurahan_id(app, "31.74.02.1004"))
    form = client.get(url).get_data(as_text=True)
    assert re.search(rf'<option selected value="{karet}">Karet \(Kec. Setiabudi\)</option>', form)
    assert "Karet Kuningan" not in form
    base = {"kind": "sku", "number": "9/SKU/2026", "issued_on": today_wib().isoformat()}
    other = post_form(client, url, {**base, "kelurahan_id": str(_kelurahan_id(app, "31.74.02.1003"))}, token_url=url)
    assert other.status_code == 422 and "harus di Kecamatan Tebet" in other.get_data(as_text=True)
    assert post_form(client, url, {**base, "kelurahan_id": karet}, token_url=url).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(License.kelurahan_id)).one() == int(karet)
