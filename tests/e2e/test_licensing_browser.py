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


def test_the_ready_list_starts_with_nothing_ticked(app, page, live_server, make_user, make_participant):
    """A bulk page: nothing ticked, the print button waits for a choice, "Pilih semua" ticks the page."""
    set_mode(app, "bebas")
    make_user("staff", username="desk.siap")
    for nik, name in (("3174011708859911", "Ani Kue"), ("3174011708859912", "Budi Bakso")):
        give_steps(app, make_participant(nik=nik, name=name), 2)
    browser_login(page, "desk.siap", PASSWORD)
    page.goto("/siap-izin")
    boxes = page.locator('input[name="participant_id"]')
    expect(boxes).to_have_count(2)
    assert [boxes.nth(i).is_checked() for i in range(2)] == [False, False]
    button = page.get_by_role("button", name=re.compile("Cetak surat pengantar SKU"))
    expect(button).to_be_disabled()
    expect(page.get_by_text("0 dipilih", exact=True)).to_be_visible()
    page.get_by_label("Pilih semua peserta di halaman ini").check()
    expect(page.get_by_text("2 dipilih", exact=True)).to_be_visible()
    expect(button).to_be_enabled()
    page.get_by_label("Pilih Ani Kue").uncheck()
    expect(page.get_by_text("1 dipilih", exact=True)).to_be_visible()
