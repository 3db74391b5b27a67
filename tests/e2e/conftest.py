"""A real browser (Debian's Chromium through Playwright) against the app on a free loopback port."""
import os
import shutil
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(f"Chromium not found at {CHROMIUM} but E2E_REQUIRED is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context; every request is recorded on ``page.requests_seen``."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID",
                                  base_url=live_server)
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.set_default_timeout(10_000)
    yield page
    context.close()


def foreign_requests(page, live_server) -> list[str]:
    own = urlsplit(live_server).netloc
    local = ("data:", "blob:", "about:", "chrome:", "chrome-extension:")  # the browser's own, not the network
    return [u for u in page.requests_seen if not u.startswith(local) and urlsplit(u).netloc != own]


def browser_login(page, username: str, password: str) -> None:
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_label("Kata sandi").press("Enter")
    page.wait_for_url("**/")
