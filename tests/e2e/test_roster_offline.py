"""The roster on weak connections: marks made offline are kept and sent once when the connection
returns; two devices on one roster converge on what the database holds."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.extensions import db
from app.training.models import Attendance, Course, Enrollment
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login
from tests.test_training import enrol_new

STATUSES = ["hadir", "terlambat", "izin", "tidak_hadir"]
LABELS = {"hadir": "Hadir", "terlambat": "Terlambat", "izin": "Izin", "tidak_hadir": "Tidak hadir"}


def device(browser, live_server, phone=True):
    size = {"width": 375, "height": 812} if phone else {"width": 1366, "height": 768}
    context = browser.new_context(viewport=size, base_url=live_server, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def open_kept(page, url: str) -> None:
    """Open ``url`` and reload it under the service worker, which then keeps it for a lost connection."""
    page.goto(url)
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()


def log_out_leaving_nothing(page) -> None:
    """Log out from the menu; no kept page (nor queue) is left behind."""
    page.get_by_role("button", name="Menu").tap()
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(re.compile(r".*/masuk.*"))
    kept = page.evaluate("() => caches.keys().then(keys => Promise.all(keys.map(k => caches.open(k).then(c => c.keys())))).then(lists => lists.flat().length)")
    assert kept == 0


def two_devices(browser, live_server, phone_user: str, desk_user: str, url: str):
    """A phone and a desk computer, each logged in and showing ``url``: ((context, page), (context, page))."""
    devices = device(browser, live_server), device(browser, live_server, phone=False)
    for (_context, page), user in zip(devices, (phone_user, desk_user)):
        browser_login(page, user, PASSWORD)
        page.goto(url)
    return devices


def _database_marks(app, meeting_id) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(Enrollment.id, Attendance.status).join(
            Attendance, Attendance.enrollment_id == Enrollment.id).where(Attendance.meeting_id == meeting_id)).all()
        return {f"row-{e}": s for e, s in rows}


def _screen_marks(page) -> dict[str, str]:
    return {row_id: status for row_id, status in page.evaluate(
        """() => Array.from(document.querySelectorAll('.roster-row')).map(r =>
             [r.id, (r.className.match(/is-(hadir|terlambat|izin|tidak_hadir)/) || [null, null])[1]])""") if status}


def test_thirty_marks_made_offline_arrive_once(app, browser, live_server, make_user, make_course, make_participant):
    fac = make_user("facilitator", username="fasil.luring")
    course_id = make_course(facilitator=fac)
    enrol_new(app, make_participant, course_id, 30)
    with app.app_context():
        meeting_id = db.session.get(Course, course_id).meetings[0].id
    context, page = device(browser, live_server)
    try:
        browser_login(page, "fasil.luring", PASSWORD)
        open_kept(page, f"/pertemuan/{meeting_id}")
        expect(page.locator("#roster-counts")).to_contain_text("Belum 30")
        context.set_offline(True)
        page.reload()  # the roster opened before still shows without a connection
        expect(page.locator("#roster-counts")).to_contain_text("Belum 30")
        for i in range(30):
            status = STATUSES[i % 4]
            page.get_by_role("button", name=f"{LABELS[status]}: Peserta {i:03d}", exact=True).tap()
        queue = page.locator("#roster-queue")
        expect(queue).to_be_visible()
        expect(queue).to_contain_text("30 tanda belum terkirim")
        expect(page.locator("#roster-counts")).to_contain_text("Belum 0")
        assert _database_marks(app, meeting_id) == {}
        context.set_offline(False)
        expect(queue).to_be_hidden(timeout=30_000)
        expect(page.locator(".pending-tag")).to_have_count(0)
        marks = _database_marks(app, meeting_id)
        assert len(marks) == 30 and sorted(marks.values()).count("hadir") == 8
        assert _screen_marks(page) == marks
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                     .where(AuditLog.action == "attendance.mark")) == 30
        log_out_leaving_nothing(page)
    finally:
        context.close()


def test_two_devices_on_one_roster_converge(app, browser, live_server, make_user, make_course, make_participant):
    fac = make_user("facilitator", username="fasil.bersama")
    make_user("staff", username="meja.bersama")
    course_id = make_course(facilitator=fac)
    enrol_new(app, make_participant, course_id, 12)
    with app.app_context():
        meeting_id = db.session.get(Course, course_id).meetings[0].id
    (ctx_a, a), (ctx_b, b) = two_devices(browser, live_server, "fasil.bersama", "meja.bersama",
                                         f"/pertemuan/{meeting_id}")
    try:
        for i in range(5):
            a.get_by_role("button", name=f"Hadir: Peserta {i:03d}", exact=True).tap()
            b.get_by_role("button", name=f"Izin: Peserta {i + 5:03d}", exact=True).click()
        # Both mark the same participant; the later tap stands on both screens.
        a.get_by_role("button", name="Terlambat: Peserta 011", exact=True).tap()
        a.wait_for_timeout(300)
        b.get_by_role("button", name="Tidak hadir: Peserta 011", exact=True).click()
        for page in (a, b):
            counts = page.locator("#roster-counts")
            expect(counts).to_contain_text("Hadir 5", timeout=20_000)
            expect(counts).to_contain_text("Izin 5", timeout=20_000)
            expect(counts).to_contain_text("Tidak hadir 1", timeout=20_000)
            expect(counts).to_contain_text("Belum 1", timeout=20_000)
            expect(page.get_by_role("button", name="Tidak hadir: Peserta 011", exact=True)).to_have_attribute(
                "aria-pressed", "true", timeout=20_000)
        expect(a.locator("#roster-queue")).to_be_hidden()
        marks = _database_marks(app, meeting_id)
        assert len(marks) == 11
        assert _screen_marks(a) == marks and _screen_marks(b) == marks
    finally:
        ctx_a.close()
        ctx_b.close()


def test_check_ins_typed_offline_are_sent_when_the_connection_returns(app, browser, live_server, make_user,
                                                                       make_course, make_participant):
    fac = make_user("facilitator", username="fasil.pintu")
    course_id = make_course(facilitator=fac)
    enrol_new(app, make_participant, course_id, 3)
    with app.app_context():
        meeting_id = db.session.get(Course, course_id).meetings[0].id
    context, page = device(browser, live_server)
    try:
        browser_login(page, "fasil.pintu", PASSWORD)
        page.goto(f"/pertemuan/{meeting_id}/check-in")
        context.set_offline(True)
        field = page.get_by_label("Nomor pendaftaran atau NIK")
        for number in ("317401-2026-00001", "317401202600002", "317401-2026-00002"):
            field.fill(number)
            field.press("Enter")
        expect(page.locator("#roster-queue")).to_contain_text("3 tanda belum terkirim")
        expect(page.locator("#checkin-result")).to_contain_text("tersimpan di perangkat ini")
        assert _database_marks(app, meeting_id) == {}
        context.set_offline(False)
        expect(page.locator("#roster-queue")).to_be_hidden(timeout=30_000)
        # The last answer shows; the second check-in of the same card changed nothing.
        expect(page.locator("#checkin-result")).to_contain_text("Sudah tercatat Hadir")
        expect(page.locator("#roster-counts")).to_contain_text("Hadir 2")
        assert sorted(_database_marks(app, meeting_id).values()) == ["hadir", "hadir"]
    finally:
        context.close()


def test_a_mark_the_server_cannot_place_does_not_stay_on_screen(app, browser, live_server, make_user, make_course,
                                                                 make_participant):
    """A tap on a row whose enrolment was removed meanwhile (404) is not left showing as marked:
    the roster shows the database again."""
    fac = make_user("facilitator", username="fasil.hapus")
    course_id = make_course(facilitator=fac)
    enrollments = enrol_new(app, make_participant, course_id, 3)
    with app.app_context():
        meeting_id = db.session.get(Course, course_id).meetings[0].id
    context, page = device(browser, live_server)
    try:
        browser_login(page, "fasil.hapus", PASSWORD)
        page.goto(f"/pertemuan/{meeting_id}")
        expect(page.locator(".roster-row")).to_have_count(3)
        with app.app_context():
            db.session.delete(db.session.get(Enrollment, enrollments[1]))
            db.session.commit()
        page.get_by_role("button", name="Hadir: Peserta 001", exact=True).tap()
        expect(page.locator(".roster-row")).to_have_count(2, timeout=15_000)
        expect(page.locator("#roster-queue")).to_be_hidden()
        expect(page.locator("#roster-counts")).to_contain_text("Belum 2")
        assert _database_marks(app, meeting_id) == {}
    finally:
        context.close()
