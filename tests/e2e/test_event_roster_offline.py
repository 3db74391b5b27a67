"""The bazaar-day attendance list on weak connections, by the roster mechanism of the training
roster (roster-sync.js, sw.js, core.roster): marks made offline are kept and sent once when the
connection returns; two devices on one list converge on what the database holds."""
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.core.audit import AuditLog
from app.events.models import Signup
from app.events.services import sign_up
from app.extensions import db
from app.participants.models import Participant
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login
from tests.e2e.test_roster_offline import device, log_out_leaving_nothing, open_kept, two_devices
from tests.test_events import make_event, people
from tests.test_steps import set_mode


def _event_with(app, make_participant, count: int) -> int:
    """A bazaar of Tebet held today with ``count`` confirmed sign-ups (Pedagang 00, 01, …)."""
    set_mode(app, "bebas")
    event_id = make_event(app, booths=count, closes_in=0)
    with app.app_context():
        for pid in people(make_participant, count):
            sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
    return event_id


def _database_marks(app, event_id) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(Signup.id, Signup.attended).where(
            Signup.event_id == event_id, Signup.status == "confirmed")).all()
        return {f"signup-{s}": "hadir" if attended else "belum" for s, attended in rows}


def _screen_marks(page) -> dict[str, str]:
    return dict(page.evaluate("""() => Array.from(document.querySelectorAll('.roster-row')).map(r =>
        [r.id, (r.className.match(/is-(hadir|belum)/) || [null, null])[1]])"""))


def _audited(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


def test_thirty_attendance_marks_made_offline_arrive_once(app, browser, live_server, make_user, make_participant):
    make_user("staff", username="meja.bazar")
    event_id = _event_with(app, make_participant, 30)
    context, page = device(browser, live_server)
    try:
        browser_login(page, "meja.bazar", PASSWORD)
        open_kept(page, f"/acara/{event_id}/kehadiran")
        counts = page.locator("#roster-counts")
        expect(counts).to_contain_text("Hadir 0 dari 30")
        context.set_offline(True)
        page.reload()  # the list opened before still shows without a connection
        expect(counts).to_contain_text("Hadir 0 dari 30")
        for i in range(30):
            page.get_by_role("button", name=f"Hadir: Pedagang {i:02d}", exact=True).tap()
        # Two taken back, offline too: the later mark of the same device stands.
        for i in (3, 7):
            page.get_by_role("button", name=f"Belum hadir: Pedagang {i:02d}", exact=True).tap()
        queue = page.locator("#roster-queue")
        expect(queue).to_be_visible()
        expect(queue).to_contain_text("32 tanda belum terkirim")
        expect(counts).to_contain_text("Hadir 28 dari 30")
        expect(counts).to_contain_text("belum hadir 2")
        assert set(_database_marks(app, event_id).values()) == {"belum"}
        context.set_offline(False)
        expect(queue).to_be_hidden(timeout=30_000)
        expect(page.locator(".pending-tag")).to_have_count(0)
        marks = _database_marks(app, event_id)
        assert sorted(marks.values()).count("hadir") == 28
        expect(page.get_by_role("button", name="Belum hadir: Pedagang 03", exact=True)).to_have_attribute(
            "aria-pressed", "true")
        expect(counts).to_contain_text("Hadir 28 dari 30")
        assert _screen_marks(page) == marks
        assert _audited(app, "signup.attended") == 32 and _audited(app, "attendance.superseded") == 0
        log_out_leaving_nothing(page)  # the kept event pages go with the logout
    finally:
        context.close()


def test_two_devices_on_one_attendance_list_converge(app, browser, live_server, make_user, make_participant):
    make_user("staff", username="meja.kiri")
    make_user("staff", username="meja.kanan")
    event_id = _event_with(app, make_participant, 12)
    (ctx_a, a), (ctx_b, b) = two_devices(browser, live_server, "meja.kiri", "meja.kanan", f"/acara/{event_id}/kehadiran")
    try:
        for i in range(5):
            a.get_by_role("button", name=f"Hadir: Pedagang {i:02d}", exact=True).tap()
            b.get_by_role("button", name=f"Hadir: Pedagang {i + 5:02d}", exact=True).click()
        # Both mark the same trader; the later tap stands on both screens.
        a.get_by_role("button", name="Hadir: Pedagang 11", exact=True).tap()
        expect(a.get_by_role("button", name="Hadir: Pedagang 11", exact=True)).to_have_attribute("aria-pressed", "true")
        expect(a.locator("#roster-queue")).to_be_hidden()
        b.get_by_role("button", name="Belum hadir: Pedagang 11", exact=True).click()
        for page in (a, b):
            counts = page.locator("#roster-counts")
            expect(counts).to_contain_text("Hadir 10 dari 12", timeout=20_000)
            expect(counts).to_contain_text("belum hadir 2", timeout=20_000)
            expect(page.get_by_role("button", name="Belum hadir: Pedagang 11", exact=True)).to_have_attribute(
                "aria-pressed", "true", timeout=20_000)
        expect(b.locator("#roster-queue")).to_be_hidden()
        marks = _database_marks(app, event_id)
        assert sorted(marks.values()).count("hadir") == 10
        assert _screen_marks(a) == marks and _screen_marks(b) == marks
    finally:
        ctx_a.close()
        ctx_b.close()


def test_event_check_ins_typed_offline_are_sent_when_the_connection_returns(app, browser, live_server, make_user,
                                                                             make_participant):
    make_user("staff", username="meja.pintu")
    event_id = _event_with(app, make_participant, 3)
    with app.app_context():
        numbers = db.session.scalars(select(Participant.reg_number).join(Signup, Signup.participant_id == Participant.id)
                                     .where(Signup.event_id == event_id).order_by(Participant.name_key)).all()
    context, page = device(browser, live_server)
    try:
        browser_login(page, "meja.pintu", PASSWORD)
        open_kept(page, f"/acara/{event_id}/check-in")
        context.set_offline(True)
        page.reload()  # the check-in page opened before still shows without a connection
        field = page.get_by_label("Nomor pendaftaran atau NIK")
        for number in (numbers[0], numbers[1].replace("-", ""), numbers[1]):
            field.fill(number)
            field.press("Enter")
        expect(page.locator("#roster-queue")).to_contain_text("3 tanda belum terkirim")
        expect(page.locator("#checkin-result")).to_contain_text("tersimpan di perangkat ini")
        assert set(_database_marks(app, event_id).values()) == {"belum"}
        context.set_offline(False)
        expect(page.locator("#roster-queue")).to_be_hidden(timeout=30_000)
        # The last answer shows; the second check-in of the same card changed nothing.
        expect(page.locator("#checkin-result")).to_contain_text("Sudah tercatat hadir sebelumnya")
        expect(page.locator("#roster-counts")).to_contain_text("Hadir 2 dari 3")
        assert sorted(_database_marks(app, event_id).values()) == ["belum", "hadir", "hadir"]
        assert _audited(app, "signup.attended") == 2
    finally:
        context.close()
