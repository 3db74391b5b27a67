"""QR check-in with a (fake) camera: Chromium's camera shows a participant card's QR code."""
import io

import pytest
import segno
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.training.models import Attendance, Course
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, browser_login
from tests.test_training import enrol_new


def write_mjpeg(path, text: str, frames: int = 20) -> None:
    """A short MJPEG video (640x480) showing the QR code of ``text``, as the card prints it."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    jpeg = io.BytesIO()
    frame.save(jpeg, "JPEG", quality=95)
    with open(path, "wb") as handle:
        handle.write(jpeg.getvalue() * frames)


@pytest.fixture
def camera_browser(browser, tmp_path):
    """A Chromium whose camera shows the QR code of registration number 317401-2026-00001."""
    video = tmp_path / "qr.mjpeg"
    write_mjpeg(video, "317401-2026-00001")
    instance = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    yield instance
    instance.close()


def _training_checkin(app, make_user, make_course, make_participant) -> str:
    fac = make_user("facilitator", username="fasil.tebet")
    course_id = make_course(facilitator=fac)
    enrol_new(app, make_participant, course_id, 1)
    with app.app_context():
        return f"/pertemuan/{db.session.get(Course, course_id).meetings[0].id}/check-in"


def _bazaar_checkin(app, make_user, make_course, make_participant) -> str:
    from app.events.services import sign_up
    from app.participants.models import Participant
    from tests.test_events import make_event
    from tests.test_steps import set_mode

    make_user("staff", username="fasil.tebet")
    set_mode(app, "bebas")
    event_id = make_event(app, booths=5, closes_in=0)
    pid = make_participant(name="Peserta 000")
    with app.app_context():
        sign_up(event_id, db.session.get(Participant, pid), None)
        db.session.commit()
    return f"/acara/{event_id}/check-in"


def _marked(app, url: str) -> list[str]:
    from app.events.models import Signup

    with app.app_context():
        if url.startswith("/acara/"):
            return [str(s.attended) for s in db.session.scalars(select(Signup))]
        return list(db.session.scalars(select(Attendance.status)))


@pytest.mark.parametrize("desk", [_training_checkin, _bazaar_checkin], ids=["training", "bazaar"])
def test_qr_checkin_with_camera(app, camera_browser, live_server, make_user, make_course, make_participant, desk):
    """Chromium on Linux has no BarcodeDetector of its own: the vendored polyfill reads the code,
    its WebAssembly fetched from this server under the page's CSP, nothing from another host."""
    url = desk(app, make_user, make_course, make_participant)
    context = camera_browser.new_context(viewport={"width": 375, "height": 812}, base_url=live_server)
    context.grant_permissions(["camera"], origin=live_server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    messages, fetched = [], []
    page.on("console", lambda m: messages.append(m.text))
    page.on("request", lambda request: fetched.append(request.url))
    try:
        browser_login(page, "fasil.tebet", PASSWORD)
        page.goto(url)
        page.get_by_role("button", name="Pindai kartu dengan kamera").click()
        expect(page.locator("#checkin-result")).to_contain_text("Peserta 000", timeout=20_000)
        expect(page.locator("#checkin-result")).to_contain_text("Hadir")
        assert _marked(app, url) in (["hadir"], ["True"])
        assert not [m for m in messages if "Content Security Policy" in m], messages
        assert f"{live_server}/static/vendor/zxing-wasm-3.1.3-reader.wasm" in fetched
        assert all(u.startswith((live_server, "data:", "blob:")) for u in fetched), fetched
        page.get_by_role("button", name="Hentikan kamera").click()
        expect(page.locator("#scanner")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("desk", [_training_checkin, _bazaar_checkin], ids=["training", "bazaar"])
def test_a_card_scanned_after_the_connection_is_gone_is_kept_and_sent(app, camera_browser, live_server, make_user,
                                                                      make_course, make_participant, desk):
    """The check-in page prepares its scanner (the polyfill's WebAssembly) as it opens, not at the
    first scan: opened online and never scanned, it still reads a card offline; the check-in is
    kept on the device and sent once when the connection returns."""
    url = desk(app, make_user, make_course, make_participant)
    before = _marked(app, url)
    context = camera_browser.new_context(viewport={"width": 375, "height": 812}, base_url=live_server)
    context.grant_permissions(["camera"], origin=live_server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        browser_login(page, "fasil.tebet", PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/static/vendor/zxing-wasm-3.1.3-reader.wasm")):
            page.goto(url)
        page.wait_for_load_state("networkidle")
        context.set_offline(True)
        page.get_by_role("button", name="Pindai kartu dengan kamera").click()
        expect(page.locator("#roster-queue")).to_contain_text("1 tanda belum terkirim", timeout=20_000)
        assert _marked(app, url) == before
        page.get_by_role("button", name="Hentikan kamera").click()
        context.set_offline(False)
        expect(page.locator("#roster-queue")).to_be_hidden(timeout=30_000)
        assert _marked(app, url) in (["hadir"], ["True"])
    finally:
        context.close()
