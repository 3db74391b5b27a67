"""The concurrency harness: the production server (gunicorn with the repo's config and several
workers) on a free loopback port, browsers that keep their session cookies, and :func:`fire`,
which sends N requests at the same instant over real HTTP, each on its own connection, so that
the workers race each other as double-clicks and crowds do.

Used by the serving tests and by the exactly-once tests; it runs on every test database.
"""
import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import CSRF_RE, PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict
    text: str


class Browser:
    """Just enough of a browser over http.client: keeps cookies (Secure ones too), no redirects."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        return {**headers, **(extra or {})}

    def send(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
             keep_cookies: bool = True, timeout: float = 60, files: dict | None = None) -> Answer:
        """``files`` maps a field to (file name, bytes): the form goes as multipart/form-data."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = self._headers(headers)
        body = None
        if files:
            boundary = secrets.token_hex(12)
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                     for name, value in (form or {}).items()]
            parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
                      for name, (filename, content) in files.items()]
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            if keep_cookies:
                for raw in response.headers.get_all("Set-Cookie") or []:
                    self.set_cookie_headers.append(raw)
                    for name, morsel in SimpleCookie(raw).items():
                        self.cookies[name] = morsel.value
            return Answer(response.status, dict(response.headers), text)
        finally:
            conn.close()

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        answer = self.send(method, path, form)
        return answer.status, answer.headers, answer.text

    def csrf(self, path: str) -> str:
        answer = self.send("GET", path)
        assert answer.status == 200, (path, answer.status)
        return CSRF_RE.search(answer.text).group(1)

    def login(self, username: str, password: str = PASSWORD) -> "Browser":
        token = self.csrf("/masuk")
        answer = self.send("POST", "/masuk", {"csrf_token": token, "username": username, "password": password,
                                              "next": ""})
        assert answer.status == 302, (answer.status, answer.text[:500])
        return self


def _wait_healthy(browser: Browser, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
        try:
            status, _, body = browser.request("GET", "/healthz")
            if status == 200:
                assert body.strip() == '{"status":"ok"}'
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz within 60 s:\n{log.read_text()}")


@dataclass
class Served:
    browser: Browser
    log: Path
    proc: subprocess.Popen

    def new_browser(self) -> Browser:
        return Browser(self.browser.port)

    def server_errors(self) -> list[str]:
        """Lines of the server's log that show a 5xx answer or an unhandled error."""
        return [line for line in self.log.read_text().splitlines()
                if re.search(r'" 5\d\d ', line) or "Traceback" in line or "[ERROR]" in line]


@contextlib.contextmanager
def gunicorn(database_url: str, tmp_path: Path, workers: int = 3, **settings):
    """The production server with ``workers`` workers on a free port. Yields what was served: a
    Browser for it, the server's log and its process (whose exit code is set after the block)."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "uji-gunicorn-rahasia", "DATABASE_URL": database_url,
           "PUBLIC_BASE_URL": "https://okoce.publik.example", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
           # The tests' own Redis database (production with PostgreSQL refuses a SQLite queue); no
           # worker reads it here, so nothing enqueued by these servers runs.
           "TASK_QUEUE_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11"), **settings}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        browser = Browser(port)
        _wait_healthy(browser, proc, log)
        yield Served(browser, log, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def fire(browsers: Browser | list[Browser], method: str, path: str | list[str], forms: list[dict] | dict | None = None,
         headers: list[dict] | None = None, n: int | None = None) -> list[Answer]:
    """Send ``n`` requests at the same instant, each on its own connection (and so, most often, to
    different workers). ``browsers``, ``path``, ``forms`` and ``headers`` are one for all or one per
    request. The answers keep no cookies: every request carries the session it was given."""
    count = n or next((len(x) for x in (browsers, path, forms, headers) if isinstance(x, list)), 2)

    def nth(value, i):
        return value[i] if isinstance(value, list) else value

    barrier = threading.Barrier(count)
    def one(i: int) -> Answer:
        browser = nth(browsers, i)
        barrier.wait()
        return browser.send(method, nth(path, i), nth(forms, i), nth(headers, i) if headers else None,
                            keep_cookies=False)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))
