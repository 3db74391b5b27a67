from datetime import timedelta

from playwright.sync_api import expect

from app.core.timeutil import today_wib
from app.extensions import db
from app.participants.models import Participant
from app.participants.services import record_step
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests


def _licensed_in_tebet(app, make_participant, count: int) -> None:
    ids = [make_participant(kecamatan="31.74.01") for _ in range(count)]
    with app.app_context():
        for pid in ids:
            participant = db.session.get(Participant, pid)
            record_step(participant, 1, today_wib() - timedelta(days=3), "test")  # no step before P1
            record_step(participant, 2, today_wib() - timedelta(days=3), "test")
            record_step(participant, 4, today_wib(), "test")
        db.session.commit()


def test_dashboard_drill_down_from_province_to_kelurahan(page, live_server, make_user, make_participant, app):
    _licensed_in_tebet(app, make_participant, 3)
    make_user("manager", kecamatan=None, username="dinas.manajer")
    browser_login(page, "dinas.manajer", PASSWORD)
    page.get_by_role("link", name="Dasbor").first.click()
    expect(page.get_by_role("heading", name="Dasbor Provinsi DKI Jakarta")).to_be_visible()
    expect(page.locator("#rows-title")).to_have_text("Per kota/kabupaten")
    page.get_by_role("link", name="Jakarta Selatan", exact=True).click()
    expect(page.get_by_role("heading", name="Dasbor kota/kabupaten Jakarta Selatan")).to_be_visible()
    page.get_by_role("link", name="Tebet", exact=True).click()
    expect(page.get_by_role("heading", name="Dasbor kecamatan Tebet")).to_be_visible()
    expect(page.locator(".big-figure")).to_contain_text("3 dari target 1.400")
    breadcrumb = page.get_by_role("navigation", name="Wilayah")
    expect(breadcrumb).to_contain_text("Provinsi DKI Jakarta › Jakarta Selatan › Tebet")
    # The row's first link is its region (the figures after it are links to their lists).
    first_kelurahan = page.locator("#rows-title + .table-wrap tbody tr").first.get_by_role("link").first
    name = first_kelurahan.inner_text()
    first_kelurahan.click()
    expect(page.get_by_role("heading", name=f"Dasbor kelurahan {name}")).to_be_visible()
    # The chart is drawn on the server; its numbers are in the table under it.
    expect(page.locator("svg.week-chart")).to_be_visible()
    breadcrumb.get_by_role("link", name="Provinsi DKI Jakarta").click()
    expect(page.get_by_role("heading", name="Dasbor Provinsi DKI Jakarta")).to_be_visible()
    assert foreign_requests(page, live_server) == []


def test_weekly_report_by_date_and_phone_width(browser, live_server, make_user, make_participant, app):
    _licensed_in_tebet(app, make_participant, 2)
    make_user("staff", kecamatan="31.74.01", username="tebet.meja")
    context = browser.new_context(viewport={"width": 375, "height": 812}, base_url=live_server)
    page = context.new_page()
    try:
        browser_login(page, "tebet.meja", PASSWORD)
        page.goto("/laporan/mingguan")
        expect(page.get_by_role("heading", name="Rekap mingguan Tebet")).to_be_visible()
        page.get_by_label("Minggu yang memuat tanggal").fill(today_wib().isoformat())
        page.get_by_role("button", name="Tampilkan").click()
        expect(page.get_by_text("minggu berjalan, angka belum lengkap")).to_be_visible()
        expect(page.locator('tr[data-step="P4"] td').nth(1)).to_have_text("2")
        for url in ("/dasbor", "/laporan/mingguan"):
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 375px"
        future = (today_wib() + timedelta(days=10)).isoformat()
        page.goto(f"/laporan/mingguan?minggu={future}")
        expect(page.get_by_text("Minggu itu belum tiba")).to_be_visible()
    finally:
        context.close()
