"""Exactly once, route by route, under the production server with several workers.

For each create route: one form sent twice at once (the double-click), one form sent twenty
times at once (a crowd of retries), and twenty different forms at once (twenty tabs) about the
same thing. Each must leave exactly one record, answer every copy of one form alike, and never
answer 5xx. The rule itself lives in the database (unique keys, row locks); the one-time form
token makes the copies get the first answer again.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.business.models import CapitalApplication, FinancialReport
from app.core.audit import AuditLog
from app.mentoring.models import Visit
from app.core.timeutil import today_wib
from app.events.models import Signup
from app.events.services import create_event, sign_up
from app.extensions import db
from app.licensing.models import License, SkuLetter
from app.participants.models import Participant, ParticipantStep
from app.training.models import Attendance, Enrollment, Meeting
from tests.conftest import TEST_REDIS_URL, kecamatan_by_code
from tests.harness import fire, gunicorn
from tests.test_exactly_once import drawn_form
from tests.test_import import csv_bytes, mapping_form
from tests.test_steps import set_mode


@pytest.fixture(scope="module")
def served(app, database_url, tmp_path_factory):
    with gunicorn(database_url, tmp_path_factory.mktemp("once"), 3, RATELIMIT_STORAGE_URI=TEST_REDIS_URL) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_limits(redis_url):
    """The shared server's login limits start empty for every test (the tests' own Redis database)."""


def count(app, stmt) -> int:
    with app.app_context():
        return db.session.scalar(stmt)


def race(served, desk, page: str, path: str, fields: dict, errors_before: int) -> tuple[list, list, list]:
    """The double-click, the crowd and the tabs on ``path`` (with fields given per round)."""
    double = fire(desk, "POST", path(0), {**fields(0), **drawn_form(desk.send("GET", page(0)).text)}, n=2)
    crowd = fire(desk, "POST", path(1), {**fields(1), **drawn_form(desk.send("GET", page(1)).text)}, n=20)
    tabs = fire(desk, "POST", path(2), [{**fields(2), **drawn_form(desk.send("GET", page(2)).text)}
                                        for _ in range(20)])
    assert served.server_errors()[errors_before:] == []
    for answers in (double, crowd):
        assert len({(a.status, a.headers.get("Location")) for a in answers}) == 1, [a.status for a in answers]
        assert answers[0].status < 500
    assert all(a.status < 500 for a in tabs)
    return double, crowd, tabs


def login(served, make_user, role="staff", **kwargs):
    user = make_user(role, **kwargs)
    return served.new_browser().login(user.username), user


def test_sku_letter(app, served, make_user, make_participant):
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9911 + i}", name=f"Pedagang {i}") for i in range(3)]
    before = len(served.server_errors())
    fields = {"signer": "lain", "signer_name": "Sekcam", "signer_title": "Sekretaris Kecamatan"}
    url = lambda i: f"/peserta/{pids[i]}/surat-sku"
    _, _, tabs = race(served, desk, url, url, lambda i: fields, before)
    # Twenty tabs: all led to the one open letter of the participant.
    assert {a.status for a in tabs} == {302} and len({a.headers["Location"] for a in tabs}) == 1
    for pid in pids:
        assert count(app, select(func.count()).select_from(SkuLetter).where(
            SkuLetter.participant_id == pid, SkuLetter.status == "requested")) == 1
    with app.app_context():  # three letters, numbered 1, 2, 3: no number was used twice or skipped
        assert sorted(db.session.scalars(select(SkuLetter.sequence))) == [1, 2, 3]


def test_enrolment_and_attendance_tap(app, served, make_user, make_participant, make_course):
    desk, staff = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9921 + i}", name=f"Peserta {i}") for i in range(3)]
    course_id = make_course()
    before = len(served.server_errors())
    page = lambda i: f"/pelatihan/{course_id}"
    race(served, desk, page, lambda i: f"/pelatihan/{course_id}/peserta", lambda i: {"participant_id": str(pids[i])},
         before)
    for pid in pids:
        assert count(app, select(func.count()).select_from(Enrollment).where(
            Enrollment.course_id == course_id, Enrollment.participant_id == pid)) == 1
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id).where(Meeting.course_id == course_id, Meeting.number == 1))
        enrolments = [db.session.scalar(select(Enrollment.id).where(Enrollment.participant_id == pid)) for pid in pids]
    roster = lambda i: f"/pertemuan/{meeting_id}"
    race(served, desk, roster, lambda i: f"/pertemuan/{meeting_id}/tandai/{enrolments[i]}",
         lambda i: {"status": "hadir"}, before)
    for enrolment in enrolments:
        assert count(app, select(func.count()).select_from(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.enrollment_id == enrolment)) == 1


def test_event_signup(app, served, make_user, make_participant):
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9931 + i}", name=f"Pedagang {i}") for i in range(3)]
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", "Bazar Tebet", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day + timedelta(days=10), day + timedelta(days=11), 20, day, day + timedelta(days=9), None)
        db.session.commit()
        event_id = event.id
    before = len(served.server_errors())
    page = lambda i: f"/acara/{event_id}"
    race(served, desk, page, lambda i: f"/acara/{event_id}/daftar", lambda i: {"participant_id": str(pids[i])}, before)
    for pid in pids:
        assert count(app, select(func.count()).select_from(Signup).where(
            Signup.event_id == event_id, Signup.participant_id == pid, Signup.status != "cancelled")) == 1


def test_event_attendance_tap(app, served, make_user, make_participant):
    """Taps on the bazaar-day attendance list: a double-click, a crowd and twenty tabs mark once."""
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9941 + i}", name=f"Pedagang {i}") for i in range(3)]
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", "Bazar Tebet", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day, day, 20, day - timedelta(days=5), day, None)
        db.session.commit()
        event_id = event.id
        signups = [sign_up(event_id, db.session.get(Participant, pid), None).id for pid in pids]
        db.session.commit()
    before = len(served.server_errors())
    roster = lambda i: f"/acara/{event_id}/kehadiran"
    race(served, desk, roster, lambda i: f"/acara/{event_id}/kehadiran/{signups[i]}", lambda i: {"hadir": "1"}, before)
    with app.app_context():
        assert db.session.scalars(select(Signup.attended).where(Signup.event_id == event_id)).all() == [True] * 3
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "signup.attended")) == 3
        assert db.session.scalar(select(func.count()).select_from(ParticipantStep).where(
            ParticipantStep.step == 5)) == 3


def test_online_verification(app, served, make_user, make_participant):
    desk, _ = login(served, make_user)
    pids = [make_participant(channel="online", nik=f"317401170885{9941 + i}", name=f"Daring {i}") for i in range(3)]
    before = len(served.server_errors())
    race(served, desk, lambda i: "/peserta/antrean", lambda i: f"/peserta/{pids[i]}/verifikasi", lambda i: {}, before)
    with app.app_context():
        people = db.session.scalars(select(Participant).where(Participant.id.in_(pids))).all()
        assert {p.status for p in people} == {"active"} and len({p.reg_number for p in people}) == 3
        assert db.session.scalar(select(func.count()).select_from(ParticipantStep).where(
            ParticipantStep.participant_id.in_(pids), ParticipantStep.step == 1)) == 3


def test_licence(app, served, make_user, make_participant):
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9951 + i}", name=f"Berizin {i}") for i in range(3)]
    before = len(served.server_errors())
    url = lambda i: f"/peserta/{pids[i]}/izin"
    fields = lambda i: {"kind": "iumk", "number": f"IUMK/{pids[i]}/2026", "issued_on": today_wib().isoformat()}
    _, _, tabs = race(served, desk, url, url, fields, before)
    assert sorted(a.status for a in tabs)[0] == 302
    for pid in pids:
        assert count(app, select(func.count()).select_from(License).where(License.participant_id == pid)) == 1
        assert count(app, select(func.count()).select_from(ParticipantStep).where(
            ParticipantStep.participant_id == pid, ParticipantStep.step == 4)) == 1


def test_new_user(app, served, make_user):
    desk, _ = login(served, make_user, "admin", kecamatan=None)
    with app.app_context():
        wilayah = f"kecamatan:{kecamatan_by_code('31.74.01').id}"
    before = len(served.server_errors())
    fields = lambda i: {"username": f"meja.{i}", "full_name": f"Meja {i}", "role": "staff", "wilayah": wilayah,
                        "password": ""}
    double, _, tabs = race(served, desk, lambda i: "/admin/pengguna/baru", lambda i: "/admin/pengguna/baru", fields,
                           before)
    for i in range(3):
        assert count(app, select(func.count()).select_from(User).where(User.username == f"meja.{i}")) == 1
    # The new password is shown once: a repeat is told the form was sent, never shown it again.
    shown = [a for a in double if "Pengguna dibuat" in a.text]
    assert len(shown) <= 1 and all("sudah dikirim" in a.text for a in double if a not in shown)
    assert sum("Pengguna dibuat" in a.text for a in tabs) == 1


def test_import_commit(app, served, make_user):
    """The confirm step of one upload sent twice, twenty times, and from twenty tabs of its preview."""
    desk, _ = login(served, make_user)
    before = len(served.server_errors())
    rounds = []
    for i in range(3):
        rows = [f"31740117088{5 + i}{9000 + j:04d},Pedagang {i}-{j},,,,Manggarai,,Kuliner," for j in range(5)]
        upload = desk.send("POST", "/peserta/impor", drawn_form(desk.send("GET", "/peserta/impor").text),
                           files={"file": (f"impor-{i}.csv", csv_bytes(rows))})
        assert upload.status == 302, upload.text[:300]
        map_url = upload.headers["Location"]
        preview = desk.send("POST", map_url, {**mapping_form(desk.send("GET", map_url).text),
                                              **drawn_form(desk.send("GET", map_url).text)})
        assert "5</strong> baris siap diimpor" in preview.text
        rounds.append((map_url, preview.text))
    def commit_form(html):
        form = re.search(r'<form method="post" action="[^"]*/simpan".*?</form>', html, re.S).group(0)
        return {**drawn_form(form), **dict(re.findall(r'name="(map_\w+)" value="(\d+)"', form))}

    path = lambda i: rounds[i][0] + "/simpan"
    double = fire(desk, "POST", path(0), commit_form(rounds[0][1]), n=2)
    crowd = fire(desk, "POST", path(1), commit_form(rounds[1][1]), n=20)
    # Twenty tabs of one preview: each drew its own page, all about one upload.
    tabs = fire(desk, "POST", path(2), [commit_form(desk.send("POST", rounds[2][0], {
        **mapping_form(desk.send("GET", rounds[2][0]).text), **drawn_form(desk.send("GET", rounds[2][0]).text)}).text)
        for _ in range(20)])
    assert served.server_errors()[before:] == []
    for answers in (double, crowd, tabs):
        assert {a.status for a in answers} == {200}, [a.status for a in answers]
        assert all('id="created-count">5</strong> peserta baru' in a.text for a in answers)
    assert count(app, select(func.count()).select_from(Participant)) == 15


def test_financial_report_visit_and_settings(app, served, make_user, make_participant):
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9961 + i}", name=f"Pelapor {i}") for i in range(3)]
    before = len(served.server_errors())
    month = today_wib().strftime("%Y-%m")
    url = lambda i: f"/peserta/{pids[i]}/keuangan"
    race(served, desk, url, url, lambda i: {"month": month, "revenue": "1.500.000", "costs": "700.000",
                                            "employees": "2", "note": ""}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FinancialReport)) == 3
        assert db.session.scalar(select(func.count()).select_from(ParticipantStep).where(
            ParticipantStep.step == 6)) == 3
    # A visit has no rule against a second one the same day: one form is still recorded once.
    url = lambda i: f"/peserta/{pids[i]}/kunjungan"
    form = {"visit_date": today_wib().isoformat(), "topic": "Pengemasan", "notes": "", "next_step": "",
            "follow_up_on": ""}
    double = fire(desk, "POST", url(0), {**form, **drawn_form(desk.send("GET", url(0)).text)}, n=2)
    crowd = fire(desk, "POST", url(1), {**form, **drawn_form(desk.send("GET", url(1)).text)}, n=20)
    assert {a.status for a in double + crowd} == {302}
    with app.app_context():
        assert [db.session.scalar(select(func.count()).select_from(Visit).where(Visit.participant_id == pid))
                for pid in pids] == [1, 1, 0]
    admin = served.new_browser().login(make_user("admin", kecamatan=None).username)
    settings = {"mode": "berurutan", "target_province": "45000", "target_kelurahan": "210"}
    answers = fire(admin, "POST", "/pengaturan", {**settings, **drawn_form(admin.send("GET", "/pengaturan").text)}, n=20)
    assert {a.status for a in answers} == {302} and served.server_errors()[before:] == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action.like("settings%"))) == 1


def test_merge_and_checkin_by_typed_number(app, served, make_user, make_participant, make_course):
    desk, _ = login(served, make_user)
    targets = [make_participant(nik=f"317401170885{9971 + i}", name=f"Lama {i}") for i in range(3)]
    pending = [make_participant(channel="online", nik=f"317401170885{9974 + i}", name=f"Daring {i}", phone=f"0813-1111-222{i}")
               for i in range(3)]
    with app.app_context():
        numbers = [db.session.get(Participant, pid).reg_number for pid in targets]
    before = len(served.server_errors())
    url = lambda i: f"/peserta/{pending[i]}/gabung"
    race(served, desk, url, url, lambda i: {"target": numbers[i], "confirm": "1"}, before)
    with app.app_context():
        assert {db.session.get(Participant, pid).merged_into_id for pid in pending} == set(targets)
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "participant.merge")) == 3
    # Check-in at a training by the number typed (without dashes): one mark each.
    course_id = make_course()
    with app.app_context():
        meeting_id = db.session.scalar(select(Meeting.id).where(Meeting.course_id == course_id, Meeting.number == 1))
    url = lambda i: f"/pertemuan/{meeting_id}/check-in"
    race(served, desk, url, url, lambda i: {"reg_number": numbers[i].replace("-", ""), "enrol": "1"}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment).where(
            Enrollment.course_id == course_id)) == 3
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.status == "hadir")) == 3


def test_event_checkin_cancellation_and_letter_cancellation(app, served, make_user, make_participant):
    set_mode(app, "bebas")
    desk, staff = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9981 + i}", name=f"Pedagang {i}") for i in range(6)]
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", "Bazar Tebet", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day, day + timedelta(days=1), 20, day - timedelta(days=5), day, None)
        db.session.commit()
        event_id = event.id
        for pid in pids:
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
        numbers = [db.session.get(Participant, pid).reg_number for pid in pids]
        signups = [db.session.scalar(select(Signup.id).where(Signup.participant_id == pid)) for pid in pids]
    before = len(served.server_errors())
    url = lambda i: f"/acara/{event_id}/check-in"
    race(served, desk, url, url, lambda i: {"reg_number": numbers[i]}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ParticipantStep).where(
            ParticipantStep.step == 5)) == 3
    url = lambda i: f"/acara/daftar/{signups[3 + i]}/batal"
    race(served, desk, url, url, lambda i: {"reason": "Berhalangan"}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "signup.cancel")) == 3
    # SKU letters cancelled by many at once: one cancellation each.
    url = lambda i: f"/peserta/{pids[i]}/surat-sku"
    fields = {"signer": "lain", "signer_name": "Sekcam", "signer_title": "Sekretaris Kecamatan"}
    for i in range(3):
        assert desk.send("POST", url(i), {**fields, **drawn_form(desk.send("GET", url(i)).text)}).status == 302
    with app.app_context():
        letters = [db.session.scalar(select(SkuLetter.id).where(SkuLetter.participant_id == pid)) for pid in pids[:3]]
    url = lambda i: f"/surat-sku/{letters[i]}/batal"
    race(served, desk, url, url, lambda i: {"reason": "Salah kelurahan"}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "sku_letter.cancel")) == 3


def test_capital_record_and_status(app, served, make_user, make_participant):
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9991 + i}", name=f"Pemodal {i}") for i in range(3)]
    before = len(served.server_errors())
    form = {"institution": "Bank DKI", "product": "KUR Mikro", "amount": "5.000.000",
            "referred_on": today_wib().isoformat()}
    url = lambda i: f"/peserta/{pids[i]}/permodalan"
    double = fire(desk, "POST", url(0), {**form, **drawn_form(desk.send("GET", url(0)).text)}, n=2)
    crowd = fire(desk, "POST", url(1), {**form, **drawn_form(desk.send("GET", url(1)).text)}, n=20)
    assert {a.status for a in double + crowd} == {302}
    with app.app_context():
        applications = [db.session.scalars(select(CapitalApplication.id).where(
            CapitalApplication.participant_id == pid)).all() for pid in pids]
    assert [len(a) for a in applications] == [1, 1, 0]
    url = lambda i: f"/peserta/{pids[i]}/permodalan"
    status_path = lambda i: f"/permodalan/{applications[min(i, 1)][0]}/status"
    race(served, desk, url, status_path, lambda i: {"status": "applied", "on": today_wib().isoformat()}, before)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "capital.status")) == 2  # the third round met the second's change: refused


def test_moving_up_the_waiting_line(app, served, make_user, make_participant):
    """A move up sent twice or twenty times moves the participant one place, once."""
    set_mode(app, "bebas")
    desk, _ = login(served, make_user)
    pids = [make_participant(nik=f"317401170885{9901 + i}", name=f"Antre {i}") for i in range(4)]
    day = today_wib()
    with app.app_context():
        event = create_event("bazar", "Bazar Kecil", kecamatan_by_code("31.74.01"), "Lapangan Tebet",
                             day + timedelta(days=10), day + timedelta(days=11), 1, day, day + timedelta(days=9), None)
        db.session.commit()
        event_id = event.id
        for pid in pids:
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
        signups = [db.session.scalar(select(Signup.id).where(Signup.participant_id == pid)) for pid in pids]
    before = len(served.server_errors())
    page = f"/acara/{event_id}"
    form = {"arah": "naik", "reason": "Lansia"}
    double = fire(desk, "POST", f"/acara/daftar/{signups[3]}/pindah", {**form, **drawn_form(desk.send("GET", page).text)}, n=2)
    crowd = fire(desk, "POST", f"/acara/daftar/{signups[2]}/pindah", {**form, **drawn_form(desk.send("GET", page).text)}, n=20)
    assert served.server_errors()[before:] == []
    assert {a.status for a in double + crowd} == {302}
    with app.app_context():
        line = db.session.scalars(select(Signup.participant_id).where(Signup.event_id == event_id,
                                                                       Signup.status == "waiting")
                                  .order_by(Signup.queue_rank)).all()
        moves = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "signup.move"))
    # Line was 1, 2, 3 (0 has the booth); 3 moved above 2, then 2 (now last) moved above 3.
    assert line == [pids[1], pids[2], pids[3]] and moves == 2


def test_weekly_report_submit_and_approve(app, served, make_user):
    """Twenty tabs submitting one week leave one version; two Sudin managers approving and returning
    one version at the same instant (ten tabs each) leave one decision and one audit entry."""
    from app.reports.figures import monday_of
    from app.reports.models import WeeklySnapshot, WeeklySubmission

    monday = monday_of(today_wib()) - timedelta(days=7)
    desk, _ = login(served, make_user, kecamatan="31.74.03")
    with app.app_context():
        kid = kecamatan_by_code("31.74.03").id
    page = f"/laporan/mingguan/kecamatan/{kid}?minggu={monday.isoformat()}"
    before = len(served.server_errors())
    tabs = fire(desk, "POST", f"/laporan/mingguan/kecamatan/{kid}/ajukan",
                [{"minggu": monday.isoformat(), **drawn_form(desk.send("GET", page).text)} for _ in range(20)])
    assert {a.status for a in tabs} == {302}
    assert count(app, select(func.count()).select_from(WeeklySnapshot).where(WeeklySnapshot.kecamatan_id == kid)) == 1
    with app.app_context():
        snapshot_id = db.session.scalar(select(WeeklySnapshot.id).where(WeeklySnapshot.kecamatan_id == kid))
    one, _ = login(served, make_user, "manager", kota="31.74")
    two, _ = login(served, make_user, "manager", kota="31.74")
    version = f"/laporan/mingguan/versi/{snapshot_id}"
    forms = ([{"keputusan": "setujui", **drawn_form(one.send("GET", version).text)} for _ in range(10)]
             + [{"keputusan": "kembalikan", "catatan": "Periksa P4", **drawn_form(two.send("GET", version).text)}
                for _ in range(10)])
    answers = fire([one] * 10 + [two] * 10, "POST", f"{version}/keputusan", forms)
    assert {a.status for a in answers} == {302} and served.server_errors()[before:] == []
    decided = count(app, select(func.count()).select_from(AuditLog).where(
        AuditLog.action.in_(["weekly_report.approve", "weekly_report.return"])))
    assert decided == 1
    with app.app_context():
        state = db.session.scalar(select(WeeklySubmission.state).where(WeeklySubmission.kecamatan_id == kid))
        outcome = db.session.scalar(select(WeeklySnapshot.outcome).where(WeeklySnapshot.id == snapshot_id))
    assert (state, outcome) in {("approved", "approved"), ("returned", "returned")}
