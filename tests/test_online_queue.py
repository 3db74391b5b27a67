"""Public self-registration and the staff queue: verify, merge, reject."""
from sqlalchemy import select

from app.core.audit import AuditLog
from app.extensions import db
from app.participants.models import OnlineResubmission, Participant, ParticipantStep, Sector
from tests.conftest import csrf_from, kecamatan_by_code, post_form


def online_data(app, **overrides):
    with app.app_context():
        tebet = kecamatan_by_code("31.74.01").id
        sector = db.session.scalars(select(Sector).where(Sector.code == "kriya")).one().id
    data = {"kecamatan_id": str(tebet), "nik": "3174015505959905", "name": "Dewi Lestari", "birth_date": "",
            "gender": "", "phone": "+62 813-1111-2222", "email": "dewi@contoh.id", "address": "Jl. Mawar 3",
            "kelurahan": "31.74.01.1003", "business_name": "Anyaman Dewi", "sector_id": str(sector),
            "stage": "baru_mulai", "agree": "y"}
    data.update(overrides)
    return data


def send_online(client, app, **overrides):
    token = csrf_from(client, "/daftar")
    return client.post("/daftar", data={"csrf_token": token, **online_data(app, **overrides)})


def test_public_form_needs_no_login_and_lands_pending(app, client):
    page = client.get("/daftar")
    assert page.status_code == 200 and "Pendaftaran daring" in page.get_data(as_text=True)
    response = send_online(client, app)
    assert response.status_code == 302
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "pendaftaran Anda sudah kami terima" in done and "Kecamatan Tebet" in done
    with app.app_context():
        p = db.session.scalars(select(Participant)).one()
        assert (p.status, p.channel, p.reg_number, p.kecamatan.name) == ("pending", "online", None, "Tebet")
        assert db.session.scalars(select(ParticipantStep)).first() is None  # P1 only after verification


def test_public_form_errors_and_consent(app, client):
    response = send_online(client, app, nik="1234", agree="", phone="12")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "NIK harus 16 angka" in html and "Centang persetujuan" in html and "terlalu pendek" in html
    assert 'value="Dewi Lestari"' in html
    no_consent = send_online(client, app, agree="")
    assert no_consent.status_code == 422 and "Centang persetujuan" in no_consent.get_data(as_text=True)


def test_public_form_answers_the_same_for_a_registered_nik(app, client, make_participant, login_as):
    """A POST must not tell whether a NIK is in the program: same status, same page, nothing leaked;
    the possible duplicate waits, flagged, in the chosen office's queue."""
    new = send_online(client, app, nik="3174015505959911")
    make_participant(nik="3174015505959905", name="Pemilik Asli")
    taken = send_online(client, app, nik="3174015505959905", name="Dewi Lestari")
    assert (new.status_code, taken.status_code) == (302, 302)
    assert new.headers["Location"] == taken.headers["Location"]
    assert (client.get(new.headers["Location"]).get_data(as_text=True)
            == client.get(taken.headers["Location"]).get_data(as_text=True))
    only_nik = client.post("/daftar", data={"csrf_token": csrf_from(client, "/daftar"), "nik": "3174015505959905"})
    html = only_nik.get_data(as_text=True)
    assert only_nik.status_code == 422 and "sudah terdaftar" not in html and "Pemilik Asli" not in html
    again = send_online(client, app, nik="3174015505959905", phone="0813-9999-0000")  # sent twice
    assert again.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Participant.name).where(Participant.nik == "3174015505959905")).all() == [
            "Pemilik Asli"]  # nothing overwritten, no second record
        row = db.session.scalars(select(OnlineResubmission)).one()
        assert (row.name, row.phone, row.times, row.handled_at) == ("Dewi Lestari", "+6281399990000", 2, None)
    login_as("staff", kecamatan="31.74.01")
    queue = client.get("/peserta/antrean").get_data(as_text=True)
    assert "NIK sudah terdaftar" in queue and "Dewi Lestari" in queue and "2×" in queue
    done = post_form(client, f"/peserta/antrean/nik-terdaftar/{row.id}/selesai", {}, token_url="/peserta/antrean")
    assert done.status_code == 302
    assert "NIK sudah terdaftar" not in client.get("/peserta/antrean").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OnlineResubmission.handled_at)).one() is not None


def test_a_resubmission_is_seen_only_by_the_chosen_office(app, client, make_participant, login_as):
    make_participant(nik="3174015505959905", name="Pemilik Asli")
    send_online(client, app, nik="3174015505959905")
    with app.app_context():
        row_id = db.session.scalars(select(OnlineResubmission.id)).one()
    login_as("staff", kecamatan="31.71.01")
    assert "NIK sudah terdaftar" not in client.get("/peserta/antrean").get_data(as_text=True)
    assert post_form(client, f"/peserta/antrean/nik-terdaftar/{row_id}/selesai", {},
                     token_url="/peserta/antrean").status_code == 404


def test_public_form_is_rate_limited(app, client):
    from app.extensions import limiter

    saved = app.config["ONLINE_RATE_LIMIT"]
    app.config["ONLINE_RATE_LIMIT"] = "3 per hour"
    try:
        limiter.reset()
        statuses = [send_online(client, app, nik="bad").status_code for _ in range(4)]
    finally:
        app.config["ONLINE_RATE_LIMIT"] = saved
        limiter.reset()
    assert statuses == [422, 422, 422, 429]


def test_queue_lists_pending_with_whatsapp_link(app, client, login_as, make_participant):
    make_participant(channel="online", nik="3174015505959905", name="Dewi Lestari", phone="081311112222")
    make_participant(channel="online", kecamatan="31.71.06", nik="3171065505959906", name="Orang Menteng")
    login_as("staff")
    html = client.get("/peserta/antrean").get_data(as_text=True)
    assert "Dewi Lestari" in html and "Orang Menteng" not in html
    assert "https://wa.me/6281311112222?text=Halo%20Dewi%20Lestari" in html


def test_verify_completes_p1(app, client, login_as, make_participant):
    pid = make_participant(channel="online", nik="3174015505959905", name="Dewi Lestari")
    login_as("staff")
    response = post_form(client, f"/peserta/{pid}/verifikasi", {}, token_url="/peserta/antrean",
                         follow_redirects=True)
    assert "diverifikasi: nomor pendaftaran 317401-2026-00001" in response.get_data(as_text=True)
    assert "Antrean kosong" in response.get_data(as_text=True)
    with app.app_context():
        p = db.session.get(Participant, pid)
        assert p.status == "active" and p.verified_at and [s.step for s in p.steps] == [1]
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "participant.verify")).one()
    again = post_form(client, f"/peserta/{pid}/verifikasi", {}, token_url="/peserta/antrean", follow_redirects=True)
    assert "Hanya pendaftaran yang menunggu verifikasi" in again.get_data(as_text=True)


def test_reject_needs_a_reason(app, client, login_as, make_participant):
    pid = make_participant(channel="online", nik="3174015505959905")
    login_as("staff")
    url = f"/peserta/{pid}/tolak"
    empty = post_form(client, url, {"reason": ""}, token_url=url)
    assert empty.status_code == 422 and "Alasan penolakan wajib diisi." in empty.get_data(as_text=True)
    ok = post_form(client, url, {"reason": "Tidak dapat dihubungi"}, token_url=url)
    assert ok.status_code == 302
    with app.app_context():
        p = db.session.get(Participant, pid)
        assert (p.status, p.rejection_reason) == ("rejected", "Tidak dapat dihubungi")


def test_merge_into_existing(app, client, login_as, make_participant):
    target = make_participant(nik="3174011708859901", name="Budi Santoso", phone="", email="", phone_required=False)
    pending = make_participant(channel="online", nik="3174011708859902", name="Budi Santoso",
                               phone="081399998888", email="budi@contoh.id")
    login_as("staff")
    url = f"/peserta/{pending}/gabung"
    missing = post_form(client, url, {"target": "317401-2026-09999"}, token_url=url)
    assert missing.status_code == 422 and "tidak ditemukan" in missing.get_data(as_text=True)
    ask = post_form(client, url, {"target": "317401-2026-00001"}, token_url=url)
    assert "Ya, gabungkan ke 317401-2026-00001" in ask.get_data(as_text=True)
    done = post_form(client, url, {"target": "317401-2026-00001", "confirm": "1"}, token_url=url)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/peserta/{target}")
    with app.app_context():
        t, p = db.session.get(Participant, target), db.session.get(Participant, pending)
        assert (t.phone, t.email) == ("+6281399998888", "budi@contoh.id")
        assert (p.status, p.merged_into_id) == ("rejected", target)


def test_merge_refuses_target_of_other_kecamatan(app, client, login_as, make_participant):
    make_participant(kecamatan="31.71.06", nik="3171061708859901")
    pending = make_participant(channel="online", nik="3174011708859902")
    login_as("staff")
    url = f"/peserta/{pending}/gabung"
    response = post_form(client, url, {"target": "3171061708859901", "confirm": "1"}, token_url=url)
    assert response.status_code == 422 and "tidak ditemukan di kecamatan Anda" in response.get_data(as_text=True)
