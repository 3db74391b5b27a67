"""One week walked through the browser: the kecamatan submits, the Sudin returns it with a note, the
kecamatan resubmits, the Sudin approves, the province's board shows it approved; a record corrected
afterwards shows as a revision on the next week while the approved files stay byte-identical."""
from datetime import timedelta

from playwright.sync_api import expect

from app.extensions import db
from tests.conftest import PASSWORD, kecamatan_by_code
from tests.e2e.conftest import browser_login
from tests.test_reports import insert_people
from tests.test_weekly_submission import KEC, LAST_MONDAY, people_of


def new_page(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID", base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, username, PASSWORD)
    return page


def download(page, name):
    """The file behind the page's link ``name``, fetched with the page's session."""
    href = page.get_by_role("link", name=name, exact=True).get_attribute("href")
    response = page.request.get(href)
    assert response.ok, href
    return response.body()


def test_week_submit_return_resubmit_approve_board_and_revision(browser, live_server, app, make_user):
    week = LAST_MONDAY - timedelta(days=7)
    with app.app_context():
        insert_people(people_of(KEC, week, 12))
        kid = kecamatan_by_code(KEC).id
    make_user("staff", username="meja.cilandak", kecamatan=KEC)
    make_user("manager", username="sudin.selatan", kota="31.74")
    make_user("admin", username="dinas.provinsi")
    desk = new_page(browser, live_server, "meja.cilandak")
    sudin = new_page(browser, live_server, "sudin.selatan")
    dinas = new_page(browser, live_server, "dinas.provinsi")

    desk.goto(f"/laporan/mingguan/kecamatan/{kid}?minggu={week.isoformat()}")
    desk.get_by_role("button", name="Ajukan ke Sudin").click()
    expect(desk.locator(".flash-success")).to_contain_text("diajukan ke Sudin (versi 1)")

    sudin.goto(f"/laporan/persetujuan?minggu={week.isoformat()}")
    sudin.locator(f'tr[data-state="submitted"] a', has_text="Versi 1").click()
    sudin.get_by_label("Catatan untuk kecamatan").fill("Data P2 Cilandak Barat belum lengkap")
    sudin.get_by_role("button", name="Kembalikan ke kecamatan").click()
    expect(sudin.locator(".flash-success")).to_contain_text("dikembalikan")

    with app.app_context():
        insert_people(people_of(KEC, week, 1, offset=100))
    desk.goto(f"/laporan/mingguan/kecamatan/{kid}?minggu={week.isoformat()}")
    expect(desk.locator("[data-return-note]")).to_contain_text("Data P2 Cilandak Barat belum lengkap")
    desk.get_by_role("button", name="Ajukan ulang").click()
    expect(desk.locator(".flash-success")).to_contain_text("versi 2")

    sudin.goto(f"/laporan/persetujuan?minggu={week.isoformat()}")
    sudin.locator('tr[data-state="submitted"] a', has_text="Versi 2").click()
    sudin.get_by_role("button", name="Setujui").click()
    expect(sudin.locator(".flash-success")).to_contain_text("disetujui")

    dinas.goto(f"/laporan/persetujuan?minggu={week.isoformat()}")
    expect(dinas.locator('[data-state-count="approved"]')).to_have_text("1 disetujui")
    expect(dinas.locator('tr[data-step="P1"] td').first).to_have_text("13")
    dinas.locator('tr[data-state="approved"] a', has_text="Versi 2").click()
    files = {name: download(dinas, name) for name in ("PDF", "XLSX", "CSV")}
    assert files["PDF"].startswith(b"%PDF") and files["XLSX"].startswith(b"PK")

    # A step of the approved week recorded afterwards.
    with app.app_context():
        insert_people(people_of(KEC, week, 1, offset=200))
        db.session.commit()
    desk.goto(f"/laporan/mingguan/kecamatan/{kid}?minggu={(week + timedelta(days=7)).isoformat()}")
    desk.get_by_role("button", name="Ajukan ke Sudin").click()
    expect(desk.locator(".flash-success")).to_contain_text("versi 1")
    revision = desk.locator('tr[data-step="P1"] td[data-revision]')
    expect(revision).to_have_attribute("data-revision", "1")
    revision.get_by_role("link").first.click()
    expect(desk.locator("#result-count")).to_have_text("1 peserta")
    expect(desk.locator("table")).to_contain_text("Warga 200")

    dinas.goto(dinas.url)
    assert {name: download(dinas, name) for name in ("PDF", "XLSX", "CSV")} == files
