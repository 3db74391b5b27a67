import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests


def test_walkin_with_keyboard_only(page, live_server, make_user, make_participant):
    make_user("staff", username="desk.tebet")
    make_participant(nik="3174011708859977", name="Sri Rejeki")
    browser_login(page, "desk.tebet", PASSWORD)
    page.goto("/peserta/daftar")
    nik = page.get_by_label("NIK (16 angka)")
    expect(nik).to_be_focused()

    # A known NIK: the desk is told at once and offered the existing record.
    page.keyboard.type("3174011708859977", delay=15)
    expect(page.get_by_text("NIK ini sudah terdaftar.")).to_be_visible()
    expect(page.get_by_role("link", name="Buka data peserta ini")).to_be_visible()

    # A wrong NIK is explained while typing.
    nik.fill("")
    page.keyboard.type("31740145039099", delay=15)
    expect(page.get_by_text("NIK harus 16 angka (yang diisi 14 angka).")).to_be_visible()

    # A new NIK fills birth date and gender.
    page.keyboard.type("02", delay=15)
    expect(page.get_by_text(re.compile(r"NIK sah · Perempuan · lahir 5 Maret 1990"))).to_be_visible()
    expect(page.get_by_label("Tanggal lahir")).to_have_value("1990-03-05")
    expect(page.get_by_label("Perempuan")).to_be_checked()

    page.keyboard.press("Tab")
    expect(page.get_by_label("Nama lengkap (sesuai KTP)")).to_be_focused()
    page.keyboard.type("Siti Nur'aini")
    page.get_by_label("Nomor HP (WhatsApp)").fill("0812 3456 7890")
    page.get_by_label("Kelurahan domisili").fill("Manggarai")
    page.get_by_label("Nama usaha").fill("Kue Siti")
    page.get_by_label("Sektor usaha").select_option(label="Kuliner")
    page.get_by_label("Tahap usaha").select_option(label="Baru mulai")
    page.get_by_label("Nama usaha").press("Enter")

    expect(page.get_by_role("heading", name="Pendaftaran tersimpan")).to_be_visible()
    expect(page.locator("#reg-number")).to_have_text("317401-2026-00002")
    expect(page.get_by_role("link", name="Cetak kartu")).to_be_visible()
    next_button = page.get_by_role("link", name="Daftarkan peserta berikutnya")
    expect(next_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("NIK (16 angka)")).to_be_focused()
    assert foreign_requests(page, live_server) == []


def test_walkin_errors_stay_next_to_fields(page, live_server, make_user):
    make_user("staff", username="desk.tebet")
    browser_login(page, "desk.tebet", PASSWORD)
    page.goto("/peserta/daftar")
    page.get_by_label("NIK (16 angka)").fill("3174011708159901")  # 11 years old
    page.get_by_label("Nama lengkap (sesuai KTP)").fill("Anak Kecil")
    page.get_by_label("Nomor HP (WhatsApp)").fill("0812")
    page.get_by_label("Nomor HP (WhatsApp)").press("Enter")
    expect(page.get_by_text("Periksa kembali isian yang ditandai di bawah.")).to_be_visible()
    expect(page.locator("#birth_date-error")).to_contain_text("usia minimal 17 tahun")
    expect(page.locator("#phone-error")).to_contain_text("terlalu pendek")
    expect(page.locator("#kelurahan-error")).to_contain_text("Kelurahan domisili wajib diisi.")
    expect(page.get_by_label("Nama lengkap (sesuai KTP)")).to_have_value("Anak Kecil")


def test_participant_list_active_search(page, live_server, make_user, make_participant):
    make_user("staff", username="desk.tebet")
    make_participant(nik="3174014503909902", name="Siti Aminah")
    make_participant(nik="3174011708859903", name="Budi Santoso")
    browser_login(page, "desk.tebet", PASSWORD)
    page.get_by_role("link", name="Peserta", exact=True).click()
    expect(page.locator("#result-count")).to_have_text("2 peserta")
    page.get_by_label("Cari nama, NIK atau nomor HP").press_sequentially("budi", delay=40)
    expect(page.locator("#result-count")).to_have_text("1 peserta")
    expect(page.get_by_role("link", name="Budi Santoso")).to_be_visible()
    expect(page.get_by_role("link", name="Siti Aminah")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/peserta\?q=budi"))
    page.get_by_role("link", name="Budi Santoso").click()
    expect(page.get_by_role("heading", name="Budi Santoso")).to_be_visible()
    expect(page.get_by_text("P1 Pendaftaran")).to_be_visible()
    assert foreign_requests(page, live_server) == []
