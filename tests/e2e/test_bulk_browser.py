"""Bulk pages in a real browser: nothing ticked at first, "pilih semua", the live count against the
places left, no submitting over capacity, and rows the step rule keeps out shown untickable."""
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests
from tests.test_events import make_event, people
from tests.test_steps import give_steps, set_mode


def test_course_bulk_enrol_counts_and_stops_over_capacity(app, page, live_server, make_user, make_course,
                                                          make_participant):
    make_user("staff", username="desk.bulk")
    course_id = make_course(capacity=2)
    for i in range(3):
        make_participant(nik=f"31740117088599{50 + i}", name=f"Massal {i}")
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))  # a script error (or one blocked by the CSP)
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, "desk.bulk", PASSWORD)
    page.goto(f"/pelatihan/{course_id}/tambah-massal")
    boxes = page.locator('input[name="participant_id"]')
    expect(boxes).to_have_count(3)
    for i in range(3):
        expect(boxes.nth(i)).not_to_be_checked()
    counter = page.locator("[data-selected-count]")
    button = page.get_by_role("button", name="Tambahkan yang dicentang")
    expect(counter).to_have_text("0 dipilih dari 2 tempat tersisa")
    expect(button).to_be_disabled()
    page.get_by_label("Pilih semua peserta di halaman ini").check()
    expect(counter).to_have_text("3 dipilih dari 2 tempat tersisa")
    expect(page.locator("[data-over-capacity]")).to_have_text(
        "Terlalu banyak dipilih: 3 dipilih, sisa tempat 2. Kurangi 1 pilihan.")
    expect(button).to_be_disabled()
    page.get_by_label("Pilih Massal 2").uncheck()
    expect(counter).to_have_text("2 dipilih dari 2 tempat tersisa")
    expect(page.locator("[data-over-capacity]")).to_be_hidden()
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_text("2 peserta ditambahkan ke pelatihan.")).to_be_visible()
    assert errors == [] and foreign_requests(page, live_server) == []


def test_event_bulk_signup_marks_blocked_rows_and_allows_a_waiting_list_on_purpose(app, page, live_server, make_user,
                                                                                  make_participant):
    set_mode(app, "berurutan")
    make_user("staff", username="desk.bazar")
    event_id = make_event(app, booths=1)
    blocked, ready_a, ready_b = people(make_participant, 3)
    give_steps(app, ready_a, 2, 3, 4)
    give_steps(app, ready_b, 2, 3, 4)
    browser_login(page, "desk.bazar", PASSWORD)
    page.goto(f"/acara/{event_id}/tambah-massal")
    expect(page.get_by_label("Pedagang 00 belum dapat dipilih")).to_be_disabled()
    expect(page.get_by_text("Belum dapat didaftarkan: langkah P2 Pelatihan, P3 Pendampingan dan P4 Perizinan "
                            "belum selesai.")).to_be_visible()
    page.get_by_label("Pilih semua peserta di halaman ini").check()
    expect(page.get_by_label("Pedagang 00 belum dapat dipilih")).not_to_be_checked()
    counter = page.locator("[data-selected-count]")
    expect(counter).to_have_text("2 dipilih dari 1 tempat tersisa")
    button = page.get_by_role("button", name="Daftarkan yang dicentang")
    expect(button).to_be_disabled()
    page.get_by_label("Bila melebihi sisa stan, masukkan sisanya ke daftar tunggu").check()
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_text("1 terkonfirmasi, 1 masuk daftar tunggu.")).to_be_visible()
    assert foreign_requests(page, live_server) == []
