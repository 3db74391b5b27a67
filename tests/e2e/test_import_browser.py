"""The largest import a desk may make, in a real browser: upload, column mapping, the preview of every
row, the confirmation, then the job's progress page (polled by htmx) with a real worker until it says
done — and every participant is in the database.

IMPORT_BROWSER_ROWS sets the number of rows (default 20,000, the largest file the import accepts)."""
import os
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.core.formatting import angka
from app.extensions import db
from app.participants.models import Participant
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests
from tests.test_import import csv_bytes

ROWS = int(os.environ.get("IMPORT_BROWSER_ROWS", "20000"))


def valid_rows(count: int) -> list[str]:
    """Rows of Tebet residents with valid NIKs: 31.74.01, born on day 1, 2, ... of August 1985 (men),
    serials 0001–9999 each day (data/ID_RULES.md)."""
    assert count <= 28 * 9999
    return [f"317401{1 + i // 9999:02d}0885{i % 9999 + 1:04d},Peserta Impor {i},,,,Manggarai,,,"
            for i in range(count)]


def test_the_largest_import_goes_through_the_progress_page(page, live_server, app, make_user, worker, tmp_path):
    make_user("staff", username="meja.impor")
    path = tmp_path / "pendaftaran-besar.csv"
    path.write_bytes(csv_bytes(valid_rows(ROWS)))
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, "meja.impor", PASSWORD)
    page.goto("/peserta/impor")
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(str(path))
    page.get_by_role("button", name="Unggah dan periksa").click()
    page.get_by_role("button", name="Periksa semua baris").click(timeout=120_000)
    expect(page.locator("#good-count")).to_have_text(angka(ROWS), timeout=300_000)
    expect(page.locator("#bad-count")).to_have_text("0")
    expect(page.locator("#import-background")).to_be_visible()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name=f"Impor {angka(ROWS)} baris yang benar").click()
    page.wait_for_url(re.compile(r".*/pekerjaan/\d+$"), timeout=120_000)
    assert asked == [f"Impor {ROWS} peserta ke Kecamatan Tebet?"]
    expect(page.locator("#job-bar")).to_be_visible()

    expect(page.locator("#created-count")).to_have_text(angka(ROWS), timeout=900_000)  # swapped in by htmx
    expect(page.locator("#job-state")).to_have_text("Selesai")
    expect(page.locator("#job-percent")).to_have_text("100%")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == ROWS
        assert db.session.scalar(select(func.count()).select_from(Participant).where(
            Participant.name == f"Peserta Impor {ROWS - 1}")) == 1
    assert blocked == [] and foreign_requests(page, live_server) == []
