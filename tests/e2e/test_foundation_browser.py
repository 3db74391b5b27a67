from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests


def test_login_with_keyboard_and_logout(page, live_server, make_user):
    user = make_user("staff", username="desk.tebet")
    page.goto("/")
    expect(page).to_have_url(f"{live_server}/masuk?next=%2F")
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    expect(page.get_by_label("Nama pengguna")).to_be_focused()
    page.keyboard.type("desk.tebet")
    page.keyboard.press("Tab")
    page.keyboard.type("salah-sandi-1234")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Nama pengguna atau kata sandi salah.")).to_be_visible()
    expect(page.get_by_label("Nama pengguna")).to_have_value("desk.tebet")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_label("Kata sandi").press("Enter")
    expect(page.get_by_role("heading", name=f"Selamat datang, {user.full_name}")).to_be_visible()
    expect(page.get_by_text("Kecamatan Tebet").first).to_be_visible()
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_text("Anda sudah keluar.")).to_be_visible()
    assert foreign_requests(page, live_server) == []


def test_admin_user_list_active_search(page, live_server, make_user):
    make_user("admin", username="kepala.dinas")
    make_user("staff", username="rina.tebet")
    make_user("facilitator", username="joko.fasil")
    browser_login(page, "kepala.dinas", PASSWORD)
    page.get_by_role("link", name="Pengguna").first.click()
    expect(page.get_by_role("link", name="rina.tebet")).to_be_visible()
    expect(page.get_by_role("link", name="joko.fasil")).to_be_visible()
    page.get_by_label("Cari").press_sequentially("rina", delay=30)
    expect(page.get_by_role("link", name="joko.fasil")).to_have_count(0)
    expect(page.get_by_role("link", name="rina.tebet")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/admin/pengguna?q=rina&role=&status=")
    page.get_by_label("Cari").fill("tidakada")
    expect(page.get_by_text("Tidak ada pengguna yang cocok")).to_be_visible()
    assert foreign_requests(page, live_server) == []


def test_admin_creates_user_and_sees_errors_in_place(page, live_server, make_user):
    make_user("admin", username="kepala.dinas")
    browser_login(page, "kepala.dinas", PASSWORD)
    page.goto("/admin/pengguna/baru")
    page.get_by_label("Nama pengguna").fill("ani.menteng")
    page.get_by_label("Nama lengkap").fill("Ani Rahmawati")
    page.get_by_label("Peran").select_option("staff")
    page.get_by_label("Wilayah kerja").select_option(label="Seluruh provinsi")
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_text("Petugas meja bekerja untuk satu kecamatan.")).to_be_visible()
    expect(page.get_by_label("Nama lengkap")).to_have_value("Ani Rahmawati")
    page.get_by_label("Wilayah kerja").select_option(label="Menteng (Jakarta Pusat)")
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_role("heading", name="Pengguna dibuat")).to_be_visible()
    expect(page.locator("#new-password")).to_have_text(__import__("re").compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$"))


def test_phone_width_has_no_horizontal_scroll(browser, live_server, make_user):
    make_user("admin", username="kepala.dinas")
    context = browser.new_context(viewport={"width": 375, "height": 812}, base_url=live_server)
    page = context.new_page()
    try:
        browser_login(page, "kepala.dinas", PASSWORD)
        for url in ("/", "/admin/pengguna", "/pengaturan"):
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 375px"
    finally:
        context.close()


def test_a_cookie_saved_before_logout_opens_nothing_after_it(browser, page, live_server, make_user):
    make_user("staff", username="desk.tebet")
    browser_login(page, "desk.tebet", PASSWORD)
    page.goto("/peserta")
    expect(page.get_by_role("heading", name="Peserta", exact=True)).to_be_visible()
    saved = page.context.cookies()
    assert [c["name"] for c in saved] == ["session"] and saved[0]["httpOnly"]
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_text("Anda sudah keluar.")).to_be_visible()

    thief = browser.new_context(base_url=live_server, locale="id-ID")
    try:
        thief.add_cookies(saved)
        other = thief.new_page()
        other.goto("/peserta")
        expect(other).to_have_url(f"{live_server}/masuk?next=%2Fpeserta")
        expect(other.get_by_role("heading", name="Masuk")).to_be_visible()
    finally:
        thief.close()
