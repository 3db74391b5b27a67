"""A large export in the browser: the button, the progress page polled by htmx (no script of our own,
strict CSP), the bar reaching 100% and the download — with the real worker (tests/worker.py)."""
import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_login, foreign_requests


def test_export_progress_bar_reaches_the_download(page, live_server, app, make_user, make_participant, worker,
                                                  monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_ROWS", 2)
    for i in range(4):
        make_participant(name=f"Peserta Ekspor {i}")
    make_user("staff", username="meja.tebet")
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    browser_login(page, "meja.tebet", PASSWORD)
    page.goto("/peserta")
    page.get_by_role("link", name="CSV", exact=True).click()
    expect(page.locator("#export-total")).to_have_text("4")
    page.get_by_role("button", name="Buat berkas ekspor").click()
    page.wait_for_url(re.compile(r".*/pekerjaan/\d+$"))
    job_path = page.url.split(live_server, 1)[1]
    expect(page.locator("#job-bar")).to_be_visible()

    download_link = page.locator("#job-download")
    expect(download_link).to_be_visible(timeout=120_000)  # swapped in by the page's own polling
    expect(page.locator("#job-percent")).to_have_text("100%")
    expect(page.locator("#job-state")).to_have_text("Selesai")
    assert sum(1 for url in page.requests_seen if url.endswith(job_path)) >= 2  # the page asked again
    with page.expect_download() as info:
        download_link.click()
    with open(info.value.path(), encoding="utf-8-sig") as handle:
        content = handle.read()
    assert content.count("Peserta Ekspor") == 4
    assert blocked == [] and foreign_requests(page, live_server) == []
