import re

from playwright.sync_api import expect

from app.core.timeutil import today_wib
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests
from tests.test_steps import give_steps, set_mode


def test_from_trained_to_licensed_on_the_participant_page(app, page, live_server, make_user, make_participant):
    set_mode(app, "bebas")
    make_user("staff", username="desk.tebet")
    pid = make_participant(name="Rina Kue")
    give_steps(app, pid, 2)
    browser_login(page, "desk.tebet", PASSWORD)
    page.goto("/siap-izin")
    page.get_by_role("link", name="Rina Kue").click()
    page.get_by_role("link", name="Cetak surat pengantar SKU").click()
    page.get_by_label("Penanda tangan").select_option("lain")
    page.get_by_label("Nama pejabat lain").fill("Budi Sekcam")
    page.get_by_label("Jabatan").fill("Sekretaris Kecamatan")
    with page.expect_response(re.compile(r"/surat-sku/\d+\.pdf")) as pdf:
        page.get_by_role("button", name="Buat dan cetak surat").click()
    assert pdf.value.headers["content-type"] == "application/pdf"
    page.goto(f"/peserta/{pid}")
    expect(page.get_by_text(re.compile(r"^001/PKT/[IVX]+/\d{4} ·"))).to_be_visible()  # the letters section
    page.get_by_role("link", name="Catat izin usaha").click()
    page.get_by_label("Jenis izin").select_option("sku")
    page.get_by_label("Nomor izin").fill("7/SKU/2026")
    page.get_by_label("Tanggal terbit").fill(today_wib().isoformat())
    page.get_by_role("button", name="Simpan izin").click()
    expect(page.get_by_text("P4 Perizinan tercapai")).to_be_visible()
    expect(page.locator("li", has_text=re.compile(r"^001/PKT/")).filter(has_text="SKU terbit")).to_be_visible()
    expect(page.locator("ol.timeline li.done", has_text="P4 Perizinan")).to_be_visible()
    assert foreign_requests(page, live_server) == []
