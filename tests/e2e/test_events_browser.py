from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests
from tests.test_events import make_event, people
from tests.test_steps import set_mode


def test_bazaar_signups_waiting_list_and_promotion(app, page, live_server, make_user, make_participant):
    set_mode(app, "bebas")  # P5 without the steps before it
    make_user("staff", username="desk.tebet")
    event_id = make_event(app, booths=2, closes_in=0)  # today: attendance is recorded on the day
    people(make_participant, 3)
    browser_login(page, "desk.tebet", PASSWORD)
    page.goto(f"/acara/{event_id}")
    search = page.get_by_label("Cari peserta (nama, NIK, HP, nomor pendaftaran)")
    search.fill("pedagang")
    for name in ("Pedagang 00", "Pedagang 01", "Pedagang 02"):
        page.get_by_label(f"{name} ·", exact=False).check()
    page.get_by_role("button", name="Daftarkan yang dicentang").click()
    expect(page.get_by_text("2 terkonfirmasi, 1 masuk daftar tunggu.")).to_be_visible()
    expect(page.locator("#event-counts")).to_contain_text("2 dari 2 stan terisi")
    page.get_by_role("link", name="Batalkan").first.click()
    page.get_by_label("Alasan pembatalan").fill("Berhalangan")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Batalkan").click()
    expect(page.get_by_text("Pedagang 02 naik dari daftar tunggu ke stan 1.")).to_be_visible()
    expect(page.get_by_role("link", name="Kabari lewat WhatsApp")).to_be_visible()
    expect(page.get_by_text("Daftar tunggu kosong.")).to_be_visible()
    # On the day, on a phone: mark who came; attending completes P5.
    page.set_viewport_size({"width": 375, "height": 812})
    page.get_by_role("link", name="Kehadiran (ponsel)").click()
    expect(page.locator("#roster-counts")).to_contain_text("Hadir 0 dari 2")
    page.get_by_role("button", name="Hadir: Pedagang 02", exact=True).click()
    expect(page.locator("#roster-counts")).to_contain_text("Hadir 1 dari 2")
    expect(page.get_by_role("button", name="Hadir: Pedagang 02", exact=True)).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.reload()
    expect(page.locator("#roster-counts")).to_contain_text("Hadir 1 dari 2")
    assert foreign_requests(page, live_server) == []
