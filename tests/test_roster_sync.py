"""A roster open on several devices: what changed since a revision, the later mark by time wins,
and a mark id applied once (the server side of roster-sync.js; the browser side is in e2e)."""
import re
import time

from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from app.training.models import Attendance
from tests.conftest import csrf_from, login
from tests.test_training import enrol_new, meetings_of

HX = {"HX-Request": "true"}


def poll_url(html: str) -> str:
    return re.search(r'id="roster-poll" hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def two_devices(app, make_user, make_course, make_participant, count=4):
    fac = make_user("facilitator", username="fasil.satu")
    make_user("staff", username="meja.dua")
    course_id = make_course(facilitator=fac)
    enrollments = enrol_new(app, make_participant, course_id, count)
    meeting = meetings_of(app, course_id)[0]
    return meeting, enrollments, logged_in(app, "fasil.satu", "meja.dua")


def logged_in(app, *usernames):
    """A test client per user, each logged in (a device of its own)."""
    devices = []
    for name in usernames:
        device = app.test_client()
        login(device, name)
        devices.append(device)
    return devices


def tap(device, meeting, enrollment, status, once=None, at_ms=None):
    data = {"status": status, "csrf_token": csrf_from(device, f"/pertemuan/{meeting}")}
    if once:
        data["_once"] = once
    if at_ms is not None:
        data["marked_at"] = str(at_ms)
    return device.post(f"/pertemuan/{meeting}/tandai/{enrollment}", data=data, headers=HX)


def test_a_roster_hears_what_another_device_marked(app, make_user, make_course, make_participant):
    meeting, enrollments, (a, b) = two_devices(app, make_user, make_course, make_participant)
    url = poll_url(a.get(f"/pertemuan/{meeting}").get_data(as_text=True))
    assert a.get(url, headers=HX).status_code == 204  # nothing changed: nothing sent
    assert tap(b, meeting, enrollments[2], "izin").status_code == 200
    answer = a.get(url, headers=HX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(rf'<li class="roster-row is-izin" id="row-{enrollments[2]}" hx-swap-oob="true">', html)
    assert f'id="row-{enrollments[0]}"' not in html  # only what changed
    assert "Izin <strong>1</strong>" in html and "Belum <strong>3</strong>" in html
    following = poll_url(html)
    assert following != url and a.get(following, headers=HX).status_code == 204
    # Closing touches every row: a screen older than that reloads.
    token = csrf_from(b, f"/pertemuan/{meeting}")
    b.post(f"/pertemuan/{meeting}/tutup", data={"csrf_token": token})
    assert a.get(following, headers=HX).headers.get("HX-Refresh") == "true"
    assert a.get(f"/pertemuan/{meeting}/perubahan?sejak=x", headers=HX).headers.get("HX-Refresh") == "true"
    assert a.get(following).status_code == 302  # not a page of its own


def test_the_later_mark_by_time_wins_and_both_are_audited(app, make_user, make_course, make_participant):
    meeting, enrollments, (a, b) = two_devices(app, make_user, make_course, make_participant)
    now = int(time.time() * 1000)
    assert tap(a, meeting, enrollments[0], "izin", at_ms=now - 60_000).status_code == 200
    late = tap(b, meeting, enrollments[0], "hadir", at_ms=now - 300_000)  # made earlier, arrived later
    html = late.get_data(as_text=True)
    assert late.status_code == 200 and "Tanda Hadir Anda tidak dipakai" in html and "sudah ditandai Izin" in html
    assert 'class="roster-row is-izin"' in html  # the screen that lost shows what stands
    with app.app_context():
        assert db.session.scalars(select(Attendance.status)).all() == ["izin"]
    assert audit_count(app, "attendance.mark") == 1 and audit_count(app, "attendance.superseded") == 1
    # A newer mark replaces it; a time in the future counts as now.
    assert tap(b, meeting, enrollments[0], "terlambat", at_ms=now + 3_600_000).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Attendance.status)).all() == ["terlambat"]


def test_a_mark_id_is_applied_once_however_often_it_is_sent(app, make_user, make_course, make_participant):
    meeting, enrollments, (a, _b) = two_devices(app, make_user, make_course, make_participant)
    mark_id = "offline-mark-000000000000000001"
    at_ms = int(time.time() * 1000) - 5_000
    first = tap(a, meeting, enrollments[1], "hadir", once=mark_id, at_ms=at_ms)
    again = [tap(a, meeting, enrollments[1], "hadir", once=mark_id, at_ms=at_ms) for _ in range(3)]
    assert first.status_code == 200 and all(r.status_code == 200 for r in again)
    assert all(r.headers.get("X-Once-Replayed") == "1" for r in again)
    assert audit_count(app, "attendance.mark") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_a_mark_sent_again_is_answered_with_the_row_as_it_stands(app, make_user, make_course, make_participant):
    """A repeated mark id changes nothing and is answered with what stands now, not with a stored
    first answer (a tap stores none: its claim is its only write besides the mark); the same id
    from another user is refused."""
    from app.core.once import FormSubmission

    meeting, enrollments, (a, b) = two_devices(app, make_user, make_course, make_participant)
    mark_id = "offline-mark-000000000000000009"
    at_ms = int(time.time() * 1000) - 5_000
    first = tap(a, meeting, enrollments[0], "hadir", once=mark_id, at_ms=at_ms)
    assert first.status_code == 200 and f'class="roster-row is-hadir" id="row-{enrollments[0]}"' in first.get_data(as_text=True)
    assert tap(b, meeting, enrollments[0], "izin").status_code == 200  # later, on the other device
    again = tap(a, meeting, enrollments[0], "hadir", once=mark_id, at_ms=at_ms)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and again.headers.get("X-Once-Replayed") == "1"
    assert f'class="roster-row is-izin" id="row-{enrollments[0]}"' in html  # what stands now
    assert "Izin <strong>1</strong>" in html and "Hadir <strong>0</strong>" in html
    assert "tidak dipakai" not in html  # no mark was made, so none lost
    foreign = tap(b, meeting, enrollments[0], "hadir", once=mark_id, at_ms=at_ms)
    assert foreign.status_code == 409
    with app.app_context():
        assert db.session.scalars(select(Attendance.status)).all() == ["izin"]
        claims = db.session.execute(select(FormSubmission.user_id, FormSubmission.status)
                                    .where(FormSubmission.endpoint == "training.mark_one")).all()
    assert len(claims) == 1 and claims[0].status is None  # claimed with the mark; no answer stored
    assert audit_count(app, "attendance.mark") == 2


def test_a_tap_brings_the_rows_changed_since_its_screen(app, make_user, make_course, make_participant):
    """A tap's answer carries the other rows changed since the revision the screen shows, so its
    counters never count a mark its rows do not show; the poller moves to the new revision."""
    meeting, enrollments, (a, b) = two_devices(app, make_user, make_course, make_participant)
    seen = re.search(r'data-revision="(\d+)"', b.get(f"/pertemuan/{meeting}").get_data(as_text=True)).group(1)
    tap(a, meeting, enrollments[0], "hadir")
    tap(a, meeting, enrollments[1], "izin")
    data = {"status": "terlambat", "csrf_token": csrf_from(b, f"/pertemuan/{meeting}")}
    html = b.post(f"/pertemuan/{meeting}/tandai/{enrollments[3]}?sejak={seen}", data=data, headers=HX).get_data(as_text=True)
    for enrollment, status in ((enrollments[0], "hadir"), (enrollments[1], "izin")):
        assert re.search(rf'<li class="roster-row is-{status}" id="row-{enrollment}" hx-swap-oob="true">', html)
    assert re.search(rf'<li class="roster-row is-terlambat" id="row-{enrollments[3]}">', html)
    assert "Belum <strong>1</strong>" in html
    poller = re.search(r'<div id="roster-poll"[^>]*>', html).group(0)
    assert 'data-revision="3"' in poller and 'hx-swap-oob="true"' in poller
    # Without the revision (a plain htmx tap) only its own row comes back.
    plain = tap(b, meeting, enrollments[2], "hadir").get_data(as_text=True)
    assert "roster-poll" not in plain and plain.count('class="roster-row') == 1


def test_a_tap_costs_few_statements(app, make_user, make_course, make_participant):
    """A tap (an htmx mark that changes a row) runs a fixed, small number of SQL statements: the
    session and the user, the meeting and the enrolment once, the meeting's revision lock, one
    upsert, the audit row, the completion check, and the counters with the row's number in one query."""
    from sqlalchemy import event as sa_event

    meeting, enrollments, (a, _b) = two_devices(app, make_user, make_course, make_participant)
    with app.app_context():
        engine = db.engine
    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    tap(a, meeting, enrollments[0], "hadir")  # warm up (settings, caches)
    data = {"status": "hadir", "csrf_token": csrf_from(a, f"/pertemuan/{meeting}")}
    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = a.post(f"/pertemuan/{meeting}/tandai/{enrollments[1]}", data=data, headers=HX)
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)
    assert answer.status_code == 200 and "Hadir <strong>2</strong>" in answer.get_data(as_text=True)
    statements = [s for s in seen if not s.startswith("BEGIN")]  # (SQLite's BEGIN IMMEDIATE is a statement)
    assert sum(s.startswith("INSERT INTO attendance") for s in statements) == 1          # one upsert, no re-read
    assert sum(s.startswith("SELECT attendance.status") for s in statements) == 1       # the standing mark (audit)
    assert sum("coalesce(attendance.status" in s for s in statements) == 1               # counters and row number
    # Nothing is loaded twice: the meeting, its course, the enrolment and its participant in one
    # query, and the commit keeps them (no reloads after it).
    def loads(table):
        return [s for s in statements if s.startswith(f"SELECT {table}.id")]
    assert len(loads("app_user")) == 1 and len(loads("meeting")) == 1
    assert loads("enrollment") == [] and loads("participant") == [] and loads("course") == []
    # 11: 9 in the transaction that marks (the session, the user, the meeting with its course and the
    # enrolment with its participant, the P1 date, the revision, the standing mark, the upsert, the
    # audit row, the completion check), 2 after its commit (the counters with the row's number, the
    # row's mark). Was 20 (the objects reloaded after the commit), 23 before that.
    assert len(statements) <= 11, "\n".join(s.split("\n")[0][:100] for s in statements)


# --- The bazaar-day attendance list: the same mechanism (core.roster, core.once) ---------------

def two_desks_at_an_event(app, make_user, make_participant, count=4):
    """An event of Tebet held today, ``count`` confirmed sign-ups, and two logged-in desks."""
    from app.events.models import Signup
    from app.events.services import sign_up
    from app.participants.models import Participant
    from tests.test_events import make_event, people
    from tests.test_steps import set_mode

    set_mode(app, "bebas")
    make_user("staff", username="meja.satu")
    make_user("staff", username="meja.dua")
    event_id = make_event(app, booths=count, closes_in=0)
    with app.app_context():
        signups = [sign_up(event_id, db.session.get(Participant, pid), None).id
                   for pid in people(make_participant, count)]
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Signup).where(Signup.status == "confirmed")) == count
    return event_id, signups, logged_in(app, "meja.satu", "meja.dua")


def tap_event(device, event_id, signup_id, present, once=None, at_ms=None, since=None):
    data = {"hadir": "1" if present else "0", "csrf_token": csrf_from(device, f"/acara/{event_id}/kehadiran")}
    if once:
        data["_once"] = once
    if at_ms is not None:
        data["marked_at"] = str(at_ms)
    query = f"?sejak={since}" if since is not None else ""
    return device.post(f"/acara/{event_id}/kehadiran/{signup_id}{query}", data=data, headers=HX)


def attended_in_database(app) -> dict[int, bool]:
    from app.events.models import Signup

    with app.app_context():
        return dict(db.session.execute(select(Signup.id, Signup.attended)).all())


def test_an_event_list_hears_what_another_desk_marked(app, make_user, make_participant):
    event_id, signups, (a, b) = two_desks_at_an_event(app, make_user, make_participant)
    page = a.get(f"/acara/{event_id}/kehadiran").get_data(as_text=True)
    url = poll_url(page)
    assert "Hadir <strong>0</strong></span> dari 4" in page
    assert a.get(url, headers=HX).status_code == 204  # nothing changed: nothing sent
    assert tap_event(b, event_id, signups[2], True).status_code == 200
    answer = a.get(url, headers=HX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(rf'<li class="roster-row is-hadir" id="signup-{signups[2]}" hx-swap-oob="true">', html)
    assert f'id="signup-{signups[0]}"' not in html  # only what changed
    assert "Hadir <strong>1</strong></span> dari 4" in html and "belum hadir <strong>3</strong>" in html
    following = poll_url(html)
    assert following != url and a.get(following, headers=HX).status_code == 204
    # A cancelled sign-up leaves the list: a screen older than that reloads.
    token = csrf_from(b, f"/acara/daftar/{signups[3]}/batal")
    assert b.post(f"/acara/daftar/{signups[3]}/batal", data={"csrf_token": token, "reason": "Sakit"}).status_code == 302
    assert a.get(following, headers=HX).headers.get("HX-Refresh") == "true"
    assert a.get(f"/acara/{event_id}/kehadiran/perubahan?sejak=x", headers=HX).headers.get("HX-Refresh") == "true"
    assert a.get(following).status_code == 302  # not a page of its own
    html = a.get(f"/acara/{event_id}/kehadiran").get_data(as_text=True)
    assert f'id="signup-{signups[3]}"' not in html and "Hadir <strong>1</strong></span> dari 3" in html


def test_the_later_attendance_mark_by_time_wins_and_both_are_audited(app, make_user, make_participant):
    event_id, signups, (a, b) = two_desks_at_an_event(app, make_user, make_participant)
    now = int(time.time() * 1000)
    assert tap_event(a, event_id, signups[0], True, at_ms=now - 60_000).status_code == 200
    late = tap_event(b, event_id, signups[0], False, at_ms=now - 300_000)  # made earlier, arrived later
    html = late.get_data(as_text=True)
    assert late.status_code == 200
    assert "Tanda Belum hadir Anda tidak dipakai" in html and "sudah ditandai Hadir oleh Staff Uji 1" in html
    assert f'<li class="roster-row is-hadir" id="signup-{signups[0]}">' in html  # the losing screen shows what stands
    assert "Hadir <strong>1</strong></span>" in html
    assert attended_in_database(app)[signups[0]] is True
    assert audit_count(app, "signup.attended") == 1 and audit_count(app, "attendance.superseded") == 1
    # A check-in made before the standing "belum hadir" mark loses too, and says so.
    assert tap_event(b, event_id, signups[1], False, at_ms=now - 10_000).status_code == 200
    with app.app_context():
        from app.events.models import Signup
        from app.participants.models import Participant

        number = db.session.get(Participant, db.session.get(Signup, signups[1]).participant_id).reg_number
    token = csrf_from(a, f"/acara/{event_id}/check-in")
    scan = a.post(f"/acara/{event_id}/check-in", headers=HX,
                  data={"csrf_token": token, "reg_number": number, "marked_at": str(now - 20_000)})
    assert scan.status_code == 200 and "tanda lebih baru tetap berlaku" in scan.get_data(as_text=True)
    assert attended_in_database(app)[signups[1]] is False and audit_count(app, "attendance.superseded") == 2
    # A newer mark replaces the standing one; a time in the future counts as now.
    assert tap_event(b, event_id, signups[0], False, at_ms=now + 3_600_000).status_code == 200
    assert attended_in_database(app)[signups[0]] is False and audit_count(app, "signup.attended") == 2


def test_an_attendance_mark_id_is_applied_once_however_often_it_is_sent(app, make_user, make_participant):
    event_id, signups, (a, b) = two_desks_at_an_event(app, make_user, make_participant)
    mark_id = "offline-mark-000000000000000002"
    at_ms = int(time.time() * 1000) - 5_000
    first = tap_event(a, event_id, signups[1], True, once=mark_id, at_ms=at_ms)
    # Meanwhile the other desk takes it back (later); replays of the first mark change nothing.
    assert tap_event(b, event_id, signups[1], False).status_code == 200
    again = [tap_event(a, event_id, signups[1], True, once=mark_id, at_ms=at_ms) for _ in range(3)]
    assert first.status_code == 200 and all(r.status_code == 200 for r in again)
    assert all(r.headers.get("X-Once-Replayed") == "1" for r in again)
    assert audit_count(app, "signup.attended") == 2 and audit_count(app, "attendance.superseded") == 0
    assert attended_in_database(app)[signups[1]] is False
    # The same for a check-in (its id is the form's one-time token too).
    with app.app_context():
        from app.events.models import Signup
        from app.participants.models import Participant

        number = db.session.get(Participant, db.session.get(Signup, signups[2]).participant_id).reg_number
    data = {"csrf_token": csrf_from(a, f"/acara/{event_id}/check-in"), "reg_number": number,
            "_once": "offline-check-in-00000000000000003", "marked_at": str(at_ms)}
    answers = [a.post(f"/acara/{event_id}/check-in", data=data, headers=HX) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert all(r.headers.get("X-Once-Replayed") == "1" for r in answers[1:])
    assert audit_count(app, "signup.attended") == 3 and attended_in_database(app)[signups[2]] is True


def test_an_event_tap_brings_the_rows_changed_since_its_screen(app, make_user, make_participant):
    event_id, signups, (a, b) = two_desks_at_an_event(app, make_user, make_participant)
    seen = re.search(r'data-revision="(\d+)"', b.get(f"/acara/{event_id}/kehadiran").get_data(as_text=True)).group(1)
    tap_event(a, event_id, signups[0], True)
    tap_event(a, event_id, signups[1], True)
    html = tap_event(b, event_id, signups[3], True, since=seen).get_data(as_text=True)
    for signup_id in signups[:2]:
        assert re.search(rf'<li class="roster-row is-hadir" id="signup-{signup_id}" hx-swap-oob="true">', html)
    assert f'<li class="roster-row is-hadir" id="signup-{signups[3]}">' in html
    assert "belum hadir <strong>1</strong>" in html
    poller = re.search(r'<div id="roster-poll"[^>]*>', html).group(0)
    assert f'data-revision="{int(seen) + 3}"' in poller and 'hx-swap-oob="true"' in poller
    # Without the revision (a plain htmx tap) only its own row comes back.
    plain = tap_event(b, event_id, signups[2], True).get_data(as_text=True)
    assert "roster-poll" not in plain and plain.count('class="roster-row') == 1
