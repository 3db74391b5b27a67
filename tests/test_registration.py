"""Walk-in registration at the desk: the NIK check, the rules, duplicates, numbers."""
import threading

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from app.participants.models import Participant, ParticipantStep, Sector
from app.regions.models import Kelurahan
from tests.conftest import csrf_from, kecamatan_by_code, login, post_form

URL = "/peserta/daftar"


def form_data(app, **overrides):
    with app.app_context():
        sector = db.session.scalars(select(Sector).where(Sector.code == "kuliner")).one().id
        kel = db.session.scalars(select(Kelurahan).where(Kelurahan.code == "31.74.01.1001")).one()
        label = f"{kel.name} — Kec. {kel.kecamatan.name} ({kel.code})"
    data = {"nik": "3174011708859901", "name": "Budi Santoso", "birth_date": "", "gender": "",
            "phone": "0812-3456-7890", "email": "", "address": "Jl. Tebet Raya 1", "kelurahan": label,
            "business_name": "Bakso Budi", "sector_id": str(sector), "stage": "berjalan"}
    data.update(overrides)
    return data


def submit(client, app, **overrides):
    return post_form(client, URL, form_data(app, **overrides), token_url=URL)


def test_walkin_registration_happy_path(app, client, login_as):
    staff = login_as("staff")
    response = submit(client, app)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "317401-2026-00001" in page and "Cetak kartu" in page and "Daftarkan peserta berikutnya" in page
    with app.app_context():
        p = db.session.scalars(select(Participant)).one()
        assert (p.nik, p.gender, p.birth_date.isoformat(), p.phone) == (
            "3174011708859901", "L", "1985-08-17", "+6281234567890")
        assert (p.status, p.channel, p.registered_by_id) == ("active", "walkin", staff.id)
        assert p.kecamatan.name == "Tebet" and p.kelurahan.code == "31.74.01.1001"
        step = db.session.scalars(select(ParticipantStep)).one()
        assert (step.step, step.source) == (1, "registration")
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "participant.create")).one()


def test_registration_numbers_are_sequential_per_kecamatan(app, client, login_as):
    login_as("staff")
    submit(client, app)
    submit(client, app, nik="3174014503909902", name="Ani")
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Participant.reg_number)))
    assert numbers == ["317401-2026-00001", "317401-2026-00002"]


@pytest.mark.parametrize("nik,message", [
    ("3174O11708859901", "NIK hanya boleh berisi angka."),
    ("317401170885990", "NIK harus 16 angka (yang diisi 15 angka)."),
    ("31740117088599011", "NIK harus 16 angka (yang diisi 17 angka)."),
    ("3176011708859901", "bukan kecamatan di DKI Jakarta"),
    ("3174013208859901", "Tanggal lahir pada NIK tidak mungkin"),
    ("3174017208859901", "Tanggal lahir pada NIK tidak mungkin"),
    ("3174017002859901", "tidak ada di kalender"),
    ("", "NIK wajib diisi."),
])
def test_bad_nik_is_explained_and_input_kept(app, client, login_as, nik, message):
    login_as("staff")
    response = submit(client, app, nik=nik, name="D'Silva Ñoño")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "D&#39;Silva Ñoño" in html  # what was typed stays, shown as text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0


def test_nik_with_spaces_and_dashes_is_cleaned(app, client, login_as):
    login_as("staff")
    assert submit(client, app, nik="3174-0117 0885-9901").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Participant.nik)).one() == "3174011708859901"


def test_birth_date_in_future_or_under_17(app, client, login_as):
    login_as("staff")
    future = submit(client, app, nik="3174011708309901", birth_date="2030-08-17")
    assert future.status_code == 422 and "Tanggal lahir tidak boleh di masa depan." in future.get_data(as_text=True)
    young = submit(client, app, nik="3174011708159901")
    assert young.status_code == 422 and "usia minimal 17 tahun" in young.get_data(as_text=True)


def test_birth_date_differing_from_nik_needs_confirmation(app, client, login_as):
    login_as("staff")
    first = submit(client, app, birth_date="1985-08-18")
    html = first.get_data(as_text=True)
    assert first.status_code == 422 and "berbeda dari yang tertulis di NIK" in html
    assert 'value="1985-08-18"' in html
    second = submit(client, app, birth_date="1985-08-18", confirm_identity="y")
    assert second.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Participant.birth_date)).one().isoformat() == "1985-08-18"


def test_non_jakarta_nik_is_registered(app, client, login_as):
    login_as("staff")
    assert submit(client, app, nik="3201011708859901").status_code == 302


def test_nik_already_registered_here_or_elsewhere(app, client, login_as, make_participant):
    make_participant(kecamatan="31.71.06", nik="3171061708859901", name="Rahmat Hidayat")
    login_as("staff")
    response = submit(client, app, nik="3171061708859901")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "sudah terdaftar di Kecamatan Menteng" in html
    assert "Rahmat Hidayat" not in html  # no personal data across kecamatan


@pytest.mark.parametrize("phone,stored", [
    ("081234567890", "+6281234567890"), ("+62 812-3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"), ("0812 3456 7890", "+6281234567890"),
])
def test_phone_forms_are_normalised(app, client, login_as, phone, stored):
    login_as("staff")
    assert submit(client, app, phone=phone).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Participant.phone)).one() == stored


@pytest.mark.parametrize("phone,message", [
    ("0812345", "terlalu pendek"), ("0812345678901234", "terlalu panjang"), ("021-5551234", "nomor telepon rumah"),
    ("", "wajib diisi"),
])
def test_bad_phone(app, client, login_as, phone, message):
    login_as("staff")
    response = submit(client, app, phone=phone)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_names_are_kept_exactly_and_html_is_text(app, client, login_as):
    login_as("staff")
    name = "Nur'aini Ōno 李华 <script>alert(1)</script>"
    assert submit(client, app, name=name).status_code == 302
    with app.app_context():
        p = db.session.scalars(select(Participant)).one()
        assert p.name == name
        pid = p.id
    html = client.get(f"/peserta/{pid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_two_thousand_characters_refused_politely(app, client, login_as):
    login_as("staff")
    response = submit(client, app, name="a" * 2000, address="b" * 2000, business_name="c" * 2000)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.count("Terlalu panjang") >= 3


def test_kelurahan_must_be_from_the_list(app, client, login_as):
    login_as("staff")
    response = submit(client, app, kelurahan="Kelurahan Antah Berantah")
    assert response.status_code == 422 and "Pilih kelurahan dari daftar." in response.get_data(as_text=True)
    ok = submit(client, app, kelurahan="setia budi")  # a unique name works too
    assert ok.status_code == 302


def test_near_duplicate_warning_before_saving(app, client, login_as, make_participant):
    make_participant(nik="3174011708859955", name="Budi  Santoso")
    login_as("staff")
    first = submit(client, app, name="budi santoso")
    html = first.get_data(as_text=True)
    assert first.status_code == 422 and "Kemungkinan data ganda" in html and "Budi  Santoso" in html
    second = submit(client, app, name="budi santoso", confirm_duplicate="y")
    assert second.status_code == 302


def test_nik_check_fragment(app, client, login_as, make_participant):
    login_as("staff")
    url = "/peserta/cek-nik"
    token = csrf_from(client, URL)
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    ok = client.post(url, data={"nik": "3174014503909902"}, headers=headers).get_data(as_text=True)
    assert "NIK sah" in ok and "Perempuan" in ok and 'data-nik-birth="1990-03-05"' in ok and "<html" not in ok
    bad = client.post(url, data={"nik": "31740145"}, headers=headers).get_data(as_text=True)
    assert "NIK harus 16 angka (yang diisi 8 angka)." in bad
    outside = client.post(url, data={"nik": "3201011708859901"}, headers=headers).get_data(as_text=True)
    assert "luar DKI Jakarta" in outside
    own = make_participant(nik="3174011708859977", name="Sri Rejeki")
    known = client.post(url, data={"nik": "3174011708859977"}, headers=headers).get_data(as_text=True)
    assert "sudah terdaftar" in known and "Sri Rejeki" in known and f"/peserta/{own}" in known and "P1" in known
    make_participant(kecamatan="31.71.06", nik="3171061708859977", name="Joko Widodo")
    other = client.post(url, data={"nik": "3171061708859977"}, headers=headers).get_data(as_text=True)
    assert "Kecamatan Menteng" in other and "Joko Widodo" not in other and "J••• W•••••" in other
    assert client.post(url, data={"nik": "3174011708859901"}).status_code == 400  # CSRF required


def test_same_nik_twice_at_once_registers_once(app, make_user):
    staff = make_user("staff")
    clients = [app.test_client() for _ in range(2)]
    tokens = []
    for c in clients:
        login(c, staff.username)
        tokens.append(csrf_from(c, URL))
    data = form_data(app)
    barrier = threading.Barrier(2)
    statuses = []

    def go(c, token):
        barrier.wait()
        statuses.append(c.post(URL, data={**data, "csrf_token": token}).status_code)

    threads = [threading.Thread(target=go, args=(c, t)) for c, t in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302, 422]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 1


def test_admin_picks_the_kecamatan(app, client, login_as):
    login_as("admin")
    missing = submit(client, app)
    assert missing.status_code == 422 and "Pilih kecamatan pendaftar." in missing.get_data(as_text=True)
    with app.app_context():
        menteng = kecamatan_by_code("31.71.06").id
    assert submit(client, app, kecamatan_id=str(menteng)).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Participant.reg_number)).one().startswith("317106-")


def test_manager_and_pendamping_cannot_register(client, login_as):
    login_as("manager", kota="31.74")
    assert client.get(URL).status_code == 403
