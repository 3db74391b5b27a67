"""Market events: sign-ups never oversold, fair waiting list, promotion, attendance (P5)."""
import io
import threading
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.core.timeutil import today_wib
from app.events.models import Event, Signup
from app.events.services import create_event, sign_up
from app.extensions import db
from app.participants.models import Participant, ParticipantStep
from tests.conftest import kecamatan_by_code, login, post_form
from tests.test_steps import set_mode


@pytest.fixture(autouse=True)
def _free_mode(app):
    """These tests are about booths and lines, not the step order (tests/test_step_doors.py is): mode bebas."""
    set_mode(app, "bebas")


def make_event(app, booths=20, opens_in=0, closes_in=10):
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", "Bazar Tebet", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day + timedelta(days=closes_in), day + timedelta(days=closes_in + 1), booths,
                             day + timedelta(days=opens_in), day + timedelta(days=closes_in), None)
        db.session.commit()
        return event.id


def people(make_participant, n, start=0):
    return [make_participant(nik=f"3174010101{80 + (start + i) // 9000:02d}{(start + i) % 9000 + 1:04d}",
                             name=f"Pedagang {start + i:02d}") for i in range(n)]


def test_create_event_form_and_errors(app, client, login_as):
    login_as("staff")
    day = today_wib()
    bad = post_form(client, "/acara/baru", {"kind": "bazar", "name": "", "venue": "Taman", "starts_on": day.isoformat(),
                                           "ends_on": (day - timedelta(days=1)).isoformat(), "booths": "0",
                                           "signup_opens": day.isoformat(), "signup_closes": day.isoformat()},
                    token_url="/acara/baru")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Nama acara wajib diisi." in html
    assert "tidak boleh sebelum tanggal mulai" in html and "Jumlah stan antara 1 dan 5.000." in html
    ok = post_form(client, "/acara/baru", {"kind": "bazar", "name": "Bazar Ramadan", "venue": "Taman",
                                          "starts_on": day.isoformat(), "ends_on": day.isoformat(), "booths": "20",
                                          "signup_opens": day.isoformat(), "signup_closes": day.isoformat()},
                   token_url="/acara/baru")
    assert ok.status_code == 302
    assert "Bazar Ramadan" in client.get("/acara").get_data(as_text=True)


def test_waiting_list_and_promotion_with_whatsapp(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=2)
    ids = people(make_participant, 3)
    html = post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]},
                     token_url=f"/acara/{event_id}", follow_redirects=True).get_data(as_text=True)
    assert "2 terkonfirmasi, 1 masuk daftar tunggu." in html and "2</strong> dari 2 stan terisi" in html
    with app.app_context():
        first = db.session.scalars(select(Signup).where(Signup.booth == 1)).one()
        waiting = db.session.scalars(select(Signup).where(Signup.status == "waiting")).one()
    url = f"/acara/daftar/{first.id}/batal"
    empty = post_form(client, url, {"reason": ""}, token_url=url)
    assert empty.status_code == 422 and "Alasan pembatalan wajib diisi." in empty.get_data(as_text=True)
    done = post_form(client, url, {"reason": "Sakit"}, token_url=url, follow_redirects=True).get_data(as_text=True)
    assert "naik dari daftar tunggu ke stan 1" in done and "Kabari lewat WhatsApp" in done and "wa.me/62812" in done
    with app.app_context():
        promoted = db.session.get(Signup, waiting.id)
        assert (promoted.status, promoted.booth) == ("confirmed", 1)
    again = post_form(client, url, {"reason": "Lagi"}, token_url=url)
    assert again.status_code == 422 and "sudah dibatalkan" in again.get_data(as_text=True)


def test_signup_window_and_duplicates(app, make_participant):
    event_id = make_event(app, opens_in=3)
    (pid,) = people(make_participant, 1)
    with app.app_context():
        p = db.session.get(Participant, pid)
        try:
            sign_up(event_id, p, None)
        except ValueError as err:
            assert "Pendaftaran acara ini dibuka" in str(err)
        else:
            raise AssertionError("sign-up before the window must be refused")


def test_attending_completes_p5_and_undo_removes_it(app, client, login_as, make_participant):
    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, closes_in=0)  # the event is today: attendance can be recorded
    (pid,) = people(make_participant, 1)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    with app.app_context():
        signup_id = db.session.scalars(select(Signup.id)).one()
    post_form(client, f"/acara/daftar/{signup_id}/hadir", {"hadir": "1"}, token_url=f"/acara/{event_id}")
    with app.app_context():
        assert 5 in set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == pid)))
    page = client.get(f"/peserta/{pid}").get_data(as_text=True)
    assert "Pemasaran (P5)" in page and "hadir di acara pemasaran" in page
    post_form(client, f"/acara/daftar/{signup_id}/hadir", {"hadir": "0"}, token_url=f"/acara/{event_id}")
    with app.app_context():
        assert 5 not in set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == pid)))


def test_booth_list_pdf(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=5)
    ids = people(make_participant, 3)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]},
              token_url=f"/acara/{event_id}")
    pdf = client.get(f"/acara/{event_id}/stan.pdf")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "DAFTAR STAN" in text and "Pedagang 00" in text and "Pedagang 02" in text
    signups = client.get(f"/acara/{event_id}/pendaftar.pdf")
    text = PdfReader(io.BytesIO(signups.data)).pages[0].extract_text()
    assert "DAFTAR PENDAFTAR" in text and "3 terkonfirmasi, 0 menunggu" in text and "Stan 3" in text


def test_fifty_at_once_for_twenty_booths(app, make_user, make_participant):
    """Never oversold: 50 concurrent sign-ups for 20 booths give 20 confirmed (booths 1–20), 30 waiting."""
    event_id = make_event(app, booths=20)
    ids = people(make_participant, 50)
    staff = make_user("staff")
    barrier = threading.Barrier(10)
    errors = []

    def worker(chunk):
        client = app.test_client()
        login(client, staff.username)
        html = client.get(f"/acara/{event_id}").get_data(as_text=True)
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        barrier.wait()
        for pid in chunk:
            response = client.post(f"/acara/{event_id}/daftar", data={"csrf_token": token, "participant_id": str(pid)})
            if response.status_code != 302:
                errors.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(ids[i::10],)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        rows = db.session.scalars(select(Signup).where(Signup.event_id == event_id)).all()
        confirmed = [s for s in rows if s.status == "confirmed"]
        waiting = [s for s in rows if s.status == "waiting"]
        assert len(rows) == 50 and len(confirmed) == 20 and len(waiting) == 30
        assert sorted(s.booth for s in confirmed) == list(range(1, 21))
        # Consistent order: everyone confirmed signed up before everyone waiting.
        assert max(s.created_at for s in confirmed) <= min(s.created_at for s in waiting)
        assert db.session.get(Event, event_id).booths == 20


def test_fair_order_puts_first_timers_ahead_and_no_shows_behind(app, make_participant):
    day = today_wib()
    ids = people(make_participant, 5)
    with app.app_context():
        kec = kecamatan_by_code("31.74.01")
        earlier = create_event("bazar", "Bazar Lalu", kec, "Taman", day - timedelta(days=30), day - timedelta(days=30),
                               10, day - timedelta(days=40), day - timedelta(days=30), None)
        participants = [db.session.get(Participant, i) for i in ids]
        for p in participants[:2]:  # 0 came, 1 did not come
            db.session.add(Signup(event_id=earlier.id, participant_id=p.id, status="confirmed", booth=participants.index(p) + 1,
                                  attended=p is participants[0]))
        fair = create_event("bazar", "Bazar Adil", kec, "Taman", day + timedelta(days=5), day + timedelta(days=5), 1,
                            day, day + timedelta(days=5), None, fair_order=True)
        plain = create_event("bazar", "Bazar Biasa", kec, "Taman", day + timedelta(days=5), day + timedelta(days=5), 1,
                             day, day + timedelta(days=5), None)
        db.session.commit()
        from app.events.services import waiting_line

        for event in (fair, plain):
            # participant 4 takes the booth; then the no-show, the earlier attendee and two first-timers wait
            for p in [participants[4], participants[1], participants[0], participants[2], participants[3]]:
                sign_up(event.id, p, None)
            db.session.commit()
        fair_line = [s.participant.name for s in waiting_line(fair.id)]
        plain_line = [s.participant.name for s in waiting_line(plain.id)]
    assert plain_line == ["Pedagang 01", "Pedagang 00", "Pedagang 02", "Pedagang 03"]
    assert fair_line == ["Pedagang 02", "Pedagang 03", "Pedagang 00", "Pedagang 01"]


def test_public_signup_with_registration_number_and_nik(app, make_participant):
    from tests.conftest import csrf_from

    event_id = make_event(app, booths=1)
    a, b = people(make_participant, 2)
    make_participant(kecamatan="31.71.06", nik="3171061708859901", name="Orang Menteng")
    with app.app_context():
        pa, pb = db.session.get(Participant, a), db.session.get(Participant, b)
        a_reg, a_nik, b_reg, b_nik = pa.reg_number, pa.nik, pb.reg_number, pb.nik
        menteng_reg = db.session.scalars(select(Participant.reg_number).where(Participant.name == "Orang Menteng")).one()
    client = app.test_client()
    url = f"/acara/{event_id}/daftar-mandiri"
    assert "Bazar Tebet" in client.get(url).get_data(as_text=True)

    def send(reg, nik):
        return client.post(url, data={"csrf_token": csrf_from(client, url), "reg_number": reg, "nik": nik})

    wrong = send(a_reg, b_nik)
    assert wrong.status_code == 422 and "tidak cocok" in wrong.get_data(as_text=True)
    assert send(menteng_reg, "3171061708859901").status_code == 422  # another kecamatan's participant
    ok = send(a_reg.lower(), a_nik[:4] + " " + a_nik[4:])
    assert "Terdaftar: stan nomor 1" in ok.get_data(as_text=True)
    assert "daftar tunggu nomor 1" in send(b_reg, b_nik).get_data(as_text=True)
    again = send(a_reg, a_nik)
    assert again.status_code == 422 and "sudah terdaftar di acara ini" in again.get_data(as_text=True)
    assert "Pedagang" not in wrong.get_data(as_text=True)


def test_public_signup_is_rate_limited(app, make_participant):
    from app.extensions import limiter
    from tests.conftest import csrf_from

    event_id = make_event(app)
    client = app.test_client()
    url = f"/acara/{event_id}/daftar-mandiri"
    saved = app.config["ONLINE_RATE_LIMIT"]
    app.config["ONLINE_RATE_LIMIT"] = "2 per hour"
    try:
        limiter.reset()
        token = csrf_from(client, url)
        statuses = [client.post(url, data={"csrf_token": token, "reg_number": "x", "nik": "y"}).status_code
                    for _ in range(3)]
    finally:
        app.config["ONLINE_RATE_LIMIT"] = saved
        limiter.reset()
    assert statuses == [422, 422, 429]


def test_sector_quota_is_respected_on_signup_and_promotion(app, client, login_as, make_participant):
    from app.participants.models import Sector

    login_as("staff")
    day = today_wib()
    with app.app_context():
        kuliner = db.session.scalars(select(Sector).where(Sector.code == "kuliner")).one().id
        jasa = db.session.scalars(select(Sector).where(Sector.code == "jasa")).one().id
    bad = post_form(client, "/acara/baru", {"kind": "bazar", "name": "Bazar Kuota", "venue": "Taman",
                                           "starts_on": day.isoformat(), "ends_on": day.isoformat(), "booths": "3",
                                           "signup_opens": day.isoformat(), "signup_closes": day.isoformat(),
                                           f"quota_{kuliner}": "sepuluh"}, token_url="/acara/baru")
    assert bad.status_code == 422 and "Isi dengan bilangan bulat" in bad.get_data(as_text=True)
    ok = post_form(client, "/acara/baru", {"kind": "bazar", "name": "Bazar Kuota", "venue": "Taman",
                                          "starts_on": day.isoformat(), "ends_on": day.isoformat(), "booths": "3",
                                          "signup_opens": day.isoformat(), "signup_closes": day.isoformat(),
                                          f"quota_{kuliner}": "1"}, token_url="/acara/baru")
    event_id = int(ok.headers["Location"].rsplit("/", 1)[1])
    k1, k2 = people(make_participant, 2)  # kuliner (the factory's default sector)
    j1 = make_participant(nik="3174015505959905", name="Jasa Satu", sector_id=jasa)
    for pid in (k1, k2, j1):
        post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    with app.app_context():
        status = {s.participant_id: (s.status, s.booth) for s in db.session.scalars(select(Signup))}
    assert status[k1] == ("confirmed", 1) and status[k2] == ("waiting", None) and status[j1] == ("confirmed", 2)
    with app.app_context():
        first = db.session.scalars(select(Signup).where(Signup.participant_id == k1)).one().id
    url = f"/acara/daftar/{first}/batal"
    html = post_form(client, url, {"reason": "Batal"}, token_url=url, follow_redirects=True).get_data(as_text=True)
    assert "Pedagang 01 naik dari daftar tunggu ke stan 1." in html  # the kuliner slot is free again


def test_move_up_and_down_with_reason(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=1)
    ids = people(make_participant, 4)
    for pid in ids:
        post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    from app.events.services import waiting_line

    def line():
        with app.app_context():
            return [s.participant.name for s in waiting_line(event_id)]

    assert line() == ["Pedagang 01", "Pedagang 02", "Pedagang 03"]
    with app.app_context():
        third = db.session.scalars(select(Signup).where(Signup.participant_id == ids[3])).one().id
        first = db.session.scalars(select(Signup).where(Signup.participant_id == ids[1])).one().id
    no_reason = post_form(client, f"/acara/daftar/{third}/pindah", {"arah": "naik", "reason": ""},
                          token_url=f"/acara/{event_id}", follow_redirects=True)
    assert "Alasan pemindahan wajib diisi." in no_reason.get_data(as_text=True)
    post_form(client, f"/acara/daftar/{third}/pindah", {"arah": "naik", "reason": "Lansia"}, token_url=f"/acara/{event_id}")
    assert line() == ["Pedagang 01", "Pedagang 03", "Pedagang 02"]
    edge = post_form(client, f"/acara/daftar/{first}/pindah", {"arah": "naik", "reason": "x"},
                     token_url=f"/acara/{event_id}", follow_redirects=True)
    assert "sudah di ujung daftar tunggu" in edge.get_data(as_text=True)
    late = make_participant(nik="3174015505959905", name="Datang Belakangan")
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(late)}, token_url=f"/acara/{event_id}")
    assert line()[-1] == "Datang Belakangan"
    with app.app_context():
        from app.core.audit import AuditLog

        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "signup.move")).one()
        assert entry.changes["reason"]["after"] == "Lansia" and entry.changes["place"] == {"before": 3, "after": 2}


def test_event_checkin_by_number(app, client, login_as, make_participant):
    from tests.conftest import csrf_from

    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=1, closes_in=0)
    a, b = people(make_participant, 2)
    for pid in (a, b):
        post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(pid)}, token_url=f"/acara/{event_id}")
    with app.app_context():
        a_reg, b_reg = (db.session.get(Participant, i).reg_number for i in (a, b))
    url = f"/acara/{event_id}/check-in"
    scanner = client.get(url)
    assert "barcode-detector-3.2.2.polyfill.js" in scanner.get_data(as_text=True)
    assert "'wasm-unsafe-eval'" in scanner.headers["Content-Security-Policy"]
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_from(client, url)}
    ok = client.post(url, data={"reg_number": a_reg}, headers=headers).get_data(as_text=True)
    assert "Pedagang 00" in ok and "tercatat <strong>Hadir</strong>" in ok and "Hadir <strong>1</strong>" in ok
    assert "Sudah tercatat hadir" in client.post(url, data={"reg_number": a_reg}, headers=headers).get_data(as_text=True)
    waiting = client.post(url, data={"reg_number": b_reg}, headers=headers)
    assert waiting.status_code == 422 and "Menunggu" in waiting.get_data(as_text=True)
    assert client.post(url, data={"reg_number": "ngawur"}, headers=headers).status_code == 422
    with app.app_context():
        assert 5 in set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == a)))


def test_kota_wide_event_reach_and_privacy(app, client, make_user, make_participant):
    day = today_wib()
    with app.app_context():
        event = create_event("pameran", "Expo Jaksel", kecamatan_by_code("31.74.01"), "Blok M", day, day, 10, day, day,
                             None, reach="kota")
        province = create_event("mart", "OK OCE Mart Provinsi", kecamatan_by_code("31.74.01"), "Balai Kota", day, day,
                                10, day, day, None, reach="province")
        db.session.commit()
        event_id, province_id = event.id, province.id
    tebet = make_participant(name="Orang Tebet")
    setiabudi = make_participant(kecamatan="31.74.02", nik="3174021708859901", name="Orang Setiabudi")
    menteng = make_participant(kecamatan="31.71.06", nik="3171061708859901", name="Orang Menteng")
    with app.app_context():
        for pid in (tebet, setiabudi):
            sign_up(event_id, db.session.get(Participant, pid), None)
        try:
            sign_up(event_id, db.session.get(Participant, menteng), None)
        except ValueError as err:
            assert "tidak termasuk yang boleh mendaftar" in str(err)
        else:
            raise AssertionError("a Jakarta Pusat participant must not join a Jakarta Selatan event")
        sign_up(province_id, db.session.get(Participant, menteng), None)
        db.session.commit()
    make_user("staff", kecamatan="31.74.02", username="staf.setiabudi")
    login(client, "staf.setiabudi")
    html = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert "Expo Jaksel" in html and "Orang Setiabudi" in html and "Orang Tebet" not in html
    assert "2</strong> dari 10 stan terisi" in html
    assert client.get(f"/acara/{event_id}/stan.pdf").status_code == 403  # the organiser's document
    other = app.test_client()
    make_user("staff", kecamatan="31.71.06", username="staf.menteng")
    login(other, "staf.menteng")
    assert other.get(f"/acara/{event_id}").status_code == 404
    listing = other.get("/acara").get_data(as_text=True)
    assert "OK OCE Mart Provinsi" in listing and "Expo Jaksel" not in listing
    assert "Orang Menteng" in other.get(f"/acara/{province_id}").get_data(as_text=True)


def test_signup_from_participant_page_and_bulk_list(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=5)
    a, b, c = people(make_participant, 3)
    page = client.get(f"/peserta/{a}").get_data(as_text=True)
    assert "Daftarkan ke acara" in page and "Bazar Tebet" in page
    done = post_form(client, f"/peserta/{a}/acara", {"event_id": str(event_id)}, token_url=f"/peserta/{a}",
                     follow_redirects=True).get_data(as_text=True)
    assert "stan 1 di Bazar Tebet" in done
    bulk = client.get(f"/acara/{event_id}/tambah-massal").get_data(as_text=True)
    assert "Pedagang 00" not in bulk and "Pedagang 01" in bulk and "Pedagang 02" in bulk
    assert "Tidak ada peserta aktif" in client.get(f"/acara/{event_id}/tambah-massal?berizin=1").get_data(as_text=True)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(b), str(c)]}, token_url=f"/acara/{event_id}")
    with app.app_context():
        assert sorted(db.session.scalars(select(Signup.booth).where(Signup.event_id == event_id))) == [1, 2, 3]


def test_edit_event_refuses_fewer_booths_than_confirmed_and_more_booths_promote(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=2)
    ids = people(make_participant, 3)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(i) for i in ids]}, token_url=f"/acara/{event_id}")
    url = f"/acara/{event_id}/ubah"
    with app.app_context():
        e = db.session.get(Event, event_id)
        base = {"kind": "bazar", "name": e.name, "venue": e.venue, "starts_on": e.starts_on.isoformat(),
                "ends_on": e.ends_on.isoformat(), "signup_opens": e.signup_opens.isoformat(),
                "signup_closes": e.signup_closes.isoformat()}
    fewer = post_form(client, url, {**base, "booths": "1"}, token_url=url)
    assert fewer.status_code == 422 and "Sudah ada 2 peserta terkonfirmasi" in fewer.get_data(as_text=True)
    wrong = post_form(client, url, {**base, "booths": "3", "ends_on": "2000-01-01"}, token_url=url)
    assert wrong.status_code == 422 and "tidak boleh sebelum tanggal mulai" in wrong.get_data(as_text=True)
    more = post_form(client, url, {**base, "booths": "3"}, token_url=url)
    assert more.status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(select(Signup.booth).where(Signup.status == "confirmed"))) == [1, 2, 3]


def test_booth_by_hand(app, client, login_as, make_participant):
    login_as("staff")
    event_id = make_event(app, booths=5)
    a, b = people(make_participant, 2)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(a), str(b)]}, token_url=f"/acara/{event_id}")
    with app.app_context():
        sa = db.session.scalars(select(Signup).where(Signup.participant_id == a)).one().id
    taken = post_form(client, f"/acara/daftar/{sa}/stan", {"booth": "2"}, token_url=f"/acara/{event_id}",
                      follow_redirects=True)
    assert "Stan 2 sudah dipakai Pedagang 01" in taken.get_data(as_text=True)
    out = post_form(client, f"/acara/daftar/{sa}/stan", {"booth": "9"}, token_url=f"/acara/{event_id}",
                    follow_redirects=True)
    assert "Nomor stan antara 1 dan 5." in out.get_data(as_text=True)
    post_form(client, f"/acara/daftar/{sa}/stan", {"booth": "5"}, token_url=f"/acara/{event_id}")
    with app.app_context():
        assert db.session.get(Signup, sa).booth == 5


def test_signups_and_cancellations_at_once_never_oversell(app, make_user, make_participant):
    """10 confirmed of 10 booths, then 10 cancellations and 20 new sign-ups at the same moment."""
    import re

    event_id = make_event(app, booths=10)
    first = people(make_participant, 10)
    later = people(make_participant, 20, start=10)
    staff = make_user("staff")
    with app.app_context():
        for pid in first:
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
        first_signups = list(db.session.scalars(select(Signup.id).where(Signup.event_id == event_id)))
    jobs = [("cancel", sid) for sid in first_signups] + [("signup", pid) for pid in later]
    barrier = threading.Barrier(6)
    failures = []

    def worker(chunk):
        client = app.test_client()
        login(client, staff.username)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/acara/{event_id}").get_data(as_text=True)).group(1)
        barrier.wait()
        for kind, ident in chunk:
            if kind == "cancel":
                response = client.post(f"/acara/daftar/{ident}/batal", data={"csrf_token": token, "reason": "batal"})
            else:
                response = client.post(f"/acara/{event_id}/daftar", data={"csrf_token": token, "participant_id": str(ident)})
            if response.status_code != 302:
                failures.append((kind, response.status_code))

    threads = [threading.Thread(target=worker, args=(jobs[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with app.app_context():
        rows = db.session.scalars(select(Signup).where(Signup.event_id == event_id)).all()
        confirmed = [s for s in rows if s.status == "confirmed"]
        assert len(confirmed) == 10 and sorted(s.booth for s in confirmed) == list(range(1, 11))
        assert len([s for s in rows if s.status == "waiting"]) == 10
        assert len([s for s in rows if s.status == "cancelled"]) == 10


def test_phone_attendance_roster(app, client, login_as, make_participant):
    from tests.conftest import csrf_from

    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=2, closes_in=0)
    a, b = people(make_participant, 2)
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": [str(a), str(b)]}, token_url=f"/acara/{event_id}")
    url = f"/acara/{event_id}/kehadiran"
    assert "Hadir <strong>0</strong></span> dari 2" in client.get(url).get_data(as_text=True)
    with app.app_context():
        sa = db.session.scalars(select(Signup).where(Signup.participant_id == a)).one().id
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_from(client, url)}
    html = client.post(f"{url}/{sa}", data={"hadir": "1"}, headers=headers).get_data(as_text=True)
    assert f'id="signup-{sa}"' in html and "is-hadir" in html and 'hx-swap-oob="true"' in html
    assert "Hadir <strong>1</strong></span> dari 2" in html
    with app.app_context():
        assert 5 in set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == a)))


def test_attendance_in_sequential_mode_needs_p4(app, client, login_as, make_participant):
    from tests.conftest import csrf_from

    login_as("staff")
    event_id = make_event(app, booths=1, closes_in=0)
    (a,) = people(make_participant, 1)
    # Signed up in mode bebas; the office then switches to berurutan.
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(a)}, token_url=f"/acara/{event_id}")
    set_mode(app, "berurutan")
    url = f"/acara/{event_id}/kehadiran"
    with app.app_context():
        sa = db.session.scalars(select(Signup.id)).one()
    response = client.post(f"{url}/{sa}", data={"hadir": "1"}, headers={"HX-Request": "true",
                                                                        "X-CSRFToken": csrf_from(client, url)})
    assert response.status_code == 422 and "langkah P2 Pelatihan, P3 Pendampingan dan P4 Perizinan belum selesai" in response.get_data(as_text=True)


def test_kota_manager_organises_a_kota_wide_event(app, client, login_as, make_participant):
    login_as("manager", kota="31.74")
    day = today_wib()
    with app.app_context():
        setiabudi = kecamatan_by_code("31.74.02").id
        menteng = kecamatan_by_code("31.71.06").id
    data = {"kind": "pameran", "name": "Expo Sudin Jaksel", "venue": "Blok M", "starts_on": day.isoformat(),
            "ends_on": day.isoformat(), "booths": "50", "signup_opens": day.isoformat(),
            "signup_closes": day.isoformat(), "reach": "kota"}
    outside = post_form(client, "/acara/baru", {**data, "kecamatan_id": str(menteng)}, token_url="/acara/baru")
    assert outside.status_code == 404  # a kecamatan outside the manager's kota
    ok = post_form(client, "/acara/baru", {**data, "kecamatan_id": str(setiabudi)}, token_url="/acara/baru")
    assert ok.status_code == 302
    event_id = int(ok.headers["Location"].rsplit("/", 1)[1])
    tebet = make_participant(name="Orang Tebet")
    post_form(client, f"/acara/{event_id}/daftar", {"participant_id": str(tebet)}, token_url=f"/acara/{event_id}")
    html = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert "Orang Tebet" in html and "Peserta se-kota/kabupaten" in html and "Ubah acara" in html


# --- Attendance: the organiser only, from the event's first day --------------------------------

def _wide_event(app, reach: str, starts_in: int = 0) -> int:
    """A kota- or province-wide bazaar hosted by Tebet (31.74.01); sign-ups open today."""
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", f"Bazar {reach}", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day + timedelta(days=starts_in), day + timedelta(days=starts_in), 10, day,
                             day + timedelta(days=starts_in), None, reach=reach)
        db.session.commit()
        return event.id


def _confirmed(app, event_id: int, participant_id: int) -> int:
    with app.app_context():
        signup_ = sign_up(event_id, db.session.get(Participant, participant_id), None)
        db.session.commit()
        return signup_.id


def _nothing_recorded(app, signup_id: int, participant_id: int) -> None:
    from app.core.audit import AuditLog

    with app.app_context():
        assert db.session.get(Signup, signup_id).attended is False
        assert 5 not in set(db.session.scalars(select(ParticipantStep.step).where(
            ParticipantStep.participant_id == participant_id)))
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "signup.attended")).first() is None


NOT_ORGANISER_TEXT = "hanya dapat dicatat oleh penyelenggaranya, Kecamatan Tebet"



@pytest.mark.parametrize("reach,kecamatan,nik", [("kota", "31.74.02", "3174021708859901"),
                                                  ("province", "31.71.06", "3171061708859901")])
def test_another_kecamatan_cannot_record_attendance_at_a_wide_event(app, client, make_user, make_participant,
                                                                     reach, kecamatan, nik):
    """Setiabudi (same kota) or Menteng (another kota) see their own participant at Tebet's event, but the
    attendance is Tebet's to record: no button for them, and every channel answers 403 writing nothing."""
    from tests.conftest import csrf_from

    set_mode(app, "bebas")
    event_id = _wide_event(app, reach)
    guest = make_participant(kecamatan=kecamatan, nik=nik, name="Pedagang Tamu")
    signup_id = _confirmed(app, event_id, guest)
    with app.app_context():
        reg_number = db.session.get(Participant, guest).reg_number
    make_user("staff", kecamatan=kecamatan, username="staf.tamu")
    login(client, "staf.tamu")
    page = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert "Pedagang Tamu" in page and f"/acara/daftar/{signup_id}/hadir" not in page
    assert "Tandai hadir" not in page and "Kehadiran (ponsel)" not in page
    token = csrf_from(client, f"/acara/{event_id}")
    refused = client.post(f"/acara/daftar/{signup_id}/hadir", data={"csrf_token": token, "hadir": "1"})
    assert refused.status_code == 403 and NOT_ORGANISER_TEXT in refused.get_data(as_text=True)
    htmx = {"HX-Request": "true", "X-CSRFToken": token}
    for response in (client.get(f"/acara/{event_id}/kehadiran"),
                     client.post(f"/acara/{event_id}/kehadiran/{signup_id}", data={"hadir": "1"}, headers=htmx),
                     client.get(f"/acara/{event_id}/check-in"),
                     client.post(f"/acara/{event_id}/check-in", data={"reg_number": reg_number}, headers=htmx)):
        assert response.status_code == 403 and NOT_ORGANISER_TEXT in response.get_data(as_text=True)
    _nothing_recorded(app, signup_id, guest)
    # The organiser, on the day, records it for the guest too.
    organiser = app.test_client()
    make_user("staff", kecamatan="31.74.01", username="staf.tebet")
    login(organiser, "staf.tebet")
    page = organiser.get(f"/acara/{event_id}").get_data(as_text=True)
    assert f"/acara/daftar/{signup_id}/hadir" in page
    done = organiser.post(f"/acara/daftar/{signup_id}/hadir",
                          data={"csrf_token": csrf_from(organiser, f"/acara/{event_id}"), "hadir": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Signup, signup_id).attended is True
        assert 5 in set(db.session.scalars(select(ParticipantStep.step).where(ParticipantStep.participant_id == guest)))


def test_the_sudin_of_the_hosting_kota_records_attendance(app, client, login_as, make_participant):
    """A kota-wide event organised by the Sudin: its manager covers the hosting office."""
    set_mode(app, "bebas")
    event_id = _wide_event(app, "kota")
    (pid,) = people(make_participant, 1)
    signup_id = _confirmed(app, event_id, pid)
    login_as("manager", kota="31.74")
    url = f"/acara/{event_id}/kehadiran"
    assert "Hadir: Pedagang 00" in client.get(url).get_data(as_text=True)
    from tests.conftest import csrf_from

    ok = client.post(f"{url}/{signup_id}", data={"hadir": "1"},
                     headers={"HX-Request": "true", "X-CSRFToken": csrf_from(client, url)})
    assert ok.status_code == 200 and "is-hadir" in ok.get_data(as_text=True)


def test_attendance_before_the_first_day_is_refused_on_every_channel(app, client, login_as, make_participant):
    """The organiser, the day before: no buttons, the date named, every POST refused, nothing written."""
    from tests.conftest import csrf_from

    set_mode(app, "bebas")
    login_as("staff")
    event_id = make_event(app, booths=2, closes_in=1)  # sign-ups today, the event tomorrow
    (pid,) = people(make_participant, 1)
    signup_id = _confirmed(app, event_id, pid)
    with app.app_context():
        event = db.session.get(Event, event_id)
        reg_number = db.session.get(Participant, pid).reg_number
        from app.core.formatting import tanggal

        first_day = tanggal(event.starts_on, weekday=True)
    too_early = f"Kehadiran baru dapat dicatat mulai hari pertama acara, {first_day}."
    detail = client.get(f"/acara/{event_id}").get_data(as_text=True)
    assert too_early in detail and f"/acara/daftar/{signup_id}/hadir" not in detail
    flashed = post_form(client, f"/acara/daftar/{signup_id}/hadir", {"hadir": "1"}, token_url=f"/acara/{event_id}",
                        follow_redirects=True)
    assert too_early in flashed.get_data(as_text=True)
    roster = client.get(f"/acara/{event_id}/kehadiran").get_data(as_text=True)
    assert too_early in roster and "Hadir: Pedagang 00" not in roster
    checkin_page = client.get(f"/acara/{event_id}/check-in").get_data(as_text=True)
    assert too_early in checkin_page and 'id="checkin-form"' not in checkin_page
    htmx = {"HX-Request": "true", "X-CSRFToken": csrf_from(client, f"/acara/{event_id}")}
    mark = client.post(f"/acara/{event_id}/kehadiran/{signup_id}", data={"hadir": "1"}, headers=htmx)
    assert mark.status_code == 422 and too_early in mark.get_data(as_text=True)
    assert "Hadir: Pedagang 00" not in mark.get_data(as_text=True)
    scan = client.post(f"/acara/{event_id}/check-in", data={"reg_number": reg_number}, headers=htmx)
    assert scan.status_code == 422 and too_early in scan.get_data(as_text=True)
    _nothing_recorded(app, signup_id, pid)


def test_the_first_day_is_the_boundary(app, make_user, make_participant):
    """The service rule itself: refused the day before the first day, allowed on it and after."""
    from app.auth.models import User
    from app.events.services import NOT_ORGANISER, TOO_EARLY, attendance_refusal, set_attended

    set_mode(app, "bebas")
    event_id = make_event(app, closes_in=1)
    (pid,) = people(make_participant, 1)
    signup_id = _confirmed(app, event_id, pid)
    desk, other = make_user("staff"), make_user("staff", kecamatan="31.74.02")
    with app.app_context():
        event = db.session.get(Event, event_id)
        scope = db.session.get(User, desk.id).scope()
        first = event.starts_on
        assert attendance_refusal(event, scope, today=first - timedelta(days=1)).code == TOO_EARLY
        assert attendance_refusal(event, scope, today=first) is None
        assert attendance_refusal(event, scope, today=event.ends_on + timedelta(days=3)) is None
        assert attendance_refusal(event, db.session.get(User, other.id).scope(), today=first).code == NOT_ORGANISER
        set_attended(db.session.get(Signup, signup_id), True, scope, today=first)
        db.session.commit()
        assert db.session.get(Signup, signup_id).attended is True
