"""On a phone (375 px): the menu is one button, list rows are labelled cards that never widen the page
(even for a 150-character name without a space), the pendamping's list fits, and a date field says the
chosen date in words while the user types."""
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.participants.models import Participant
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests

LONG_NAME = "Panjang" * 21 + "Nam"  # 150 characters (the longest name allowed), no space


def _phone(browser, live_server, **options):
    context = browser.new_context(viewport={"width": 375, "height": 812}, base_url=live_server, locale="id-ID",
                                  is_mobile=True, has_touch=True, **options)
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.set_default_timeout(10_000)
    return context, page


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - 375")


def test_menu_is_one_button_that_opens(browser, live_server, make_user):
    make_user("staff", username="meja.tebet")
    context, page = _phone(browser, live_server)
    try:
        browser_login(page, "meja.tebet", PASSWORD)
        button = page.get_by_role("button", name="Menu")
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "false")
        nav = page.get_by_role("navigation", name="Menu utama")
        expect(nav).to_be_hidden()
        expect(page.get_by_role("button", name="Keluar")).to_be_hidden()
        # The top bar is one line of brand and button, not a fifth of the screen.
        assert page.locator("header.topbar").bounding_box()["height"] < 120
        button.tap()
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Peserta", exact=True)).to_be_visible()
        assert _overflow(page) <= 0
        # Keyboard: Escape closes and gives the focus back; Enter opens again.
        page.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(button).to_be_focused()
        page.keyboard.press("Enter")
        expect(nav.get_by_role("link", name="Peserta", exact=True)).to_be_visible()
        nav.get_by_role("link", name="Peserta", exact=True).tap()
        expect(page.get_by_role("heading", name="Peserta", exact=True)).to_be_visible()
        assert foreign_requests(page, live_server) == []
    finally:
        context.close()


def test_menu_without_javascript_stays_open(browser, live_server, make_user):
    make_user("staff", username="meja.tebet")
    context, page = _phone(browser, live_server)
    try:
        browser_login(page, "meja.tebet", PASSWORD)
    finally:
        context.close()
    context, page = _phone(browser, live_server, java_script_enabled=False)
    try:
        page.goto("/masuk")
        page.get_by_label("Nama pengguna").fill("meja.tebet")
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Peserta", exact=True)).to_be_visible()
        expect(page.locator(".menu-toggle")).to_be_hidden()
    finally:
        context.close()


def test_participant_rows_are_cards_and_a_long_name_wraps(app, browser, live_server, make_user, make_participant):
    make_user("staff", username="meja.tebet")
    make_participant(name=LONG_NAME, business_name="Usaha" * 20)
    make_participant(name="Siti Aminah")
    context, page = _phone(browser, live_server)
    try:
        browser_login(page, "meja.tebet", PASSWORD)
        page.goto("/peserta")
        row = page.locator("#participants-table tbody tr").filter(has_text=LONG_NAME[:40])
        expect(row).to_have_count(1)
        assert row.evaluate("r => getComputedStyle(r).display") == "table"  # a card, not a table row
        name_cell = row.locator("td").nth(1)
        assert name_cell.evaluate("c => getComputedStyle(c, '::before').content") == '"Nama"'
        assert page.locator("#participants-table thead th").first.is_hidden()
        box = row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert _overflow(page) <= 0, f"the list scrolls sideways by {_overflow(page)}px"
        # The participant's own page with the long name fits as well.
        row.get_by_role("link").first.tap()
        expect(page.get_by_role("heading", level=1)).to_contain_text(LONG_NAME[:30])
        assert _overflow(page) <= 0
    finally:
        context.close()


def test_pendamping_list_fits_a_phone(app, browser, live_server, make_user, make_participant):
    from app.mentoring.services import assign

    pendamping = make_user("pendamping", username="pendamping.tebet")
    ids = [make_participant(name=LONG_NAME), make_participant(name="Budi Santoso")]
    with app.app_context():
        assign(db.session.scalars(select(Participant).where(Participant.id.in_(ids))).all(), pendamping.id)
        db.session.commit()
    context, page = _phone(browser, live_server)
    try:
        browser_login(page, "pendamping.tebet", PASSWORD)
        page.goto("/pendampingan/saya")
        rows = page.locator("table.stack tbody tr")
        expect(rows).to_have_count(2)
        for i in range(2):
            box = rows.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        # Every one of the six columns is on the card, labelled.
        labels = rows.first.locator("td").evaluate_all("cs => cs.map(c => getComputedStyle(c, '::before').content)")
        assert labels == ['"Nama"', '"Kelurahan"', '"Langkah"', '"Perlu berikutnya"', '"Kunjungan terakhir"', '"Tindak lanjut"']
        assert _overflow(page) <= 0
    finally:
        context.close()


def test_date_field_says_the_date_in_words_while_typing(browser, live_server, make_user):
    make_user("staff", username="meja.tebet")
    context, page = _phone(browser, live_server)
    try:
        browser_login(page, "meja.tebet", PASSWORD)
        page.goto("/peserta/daftar")
        birth = page.get_by_label("Tanggal lahir")
        words = page.locator("#birth_date-words")
        expect(words).to_have_text("")
        # Typed as an Indonesian clerk types it, 07121993: an English-language browser (as this headless
        # Chromium is) reads 12 July, an Indonesian one 7 December; the words say which, so it is seen.
        birth.click()
        page.keyboard.type("07121993")
        expect(words).not_to_have_text("")
        read_as = {"1993-12-07": "7 Desember 1993", "1993-07-12": "12 Juli 1993"}
        assert birth.input_value() in read_as
        expect(words).to_have_text(read_as[birth.input_value()])
        birth.fill("2001-02-03")
        expect(words).to_have_text("3 Februari 2001")
        assert "birth_date-words" in birth.get_attribute("aria-describedby")
        # A list's date filter: words rendered by the server for the value in the address, then kept up to date.
        page.goto("/peserta?dari=2026-08-17")
        expect(page.locator("#dari-words")).to_have_text("17 Agustus 2026")
        page.get_by_label("Terdaftar dari").fill("2025-01-31")
        expect(page.locator("#dari-words")).to_have_text("31 Januari 2025")
        assert _overflow(page) <= 0
    finally:
        context.close()
