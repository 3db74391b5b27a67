"""Production serving: gunicorn with the repo's config, /healthz, the production error page,
the reverse proxy's forwarded headers.

The gunicorn test runs the real production configuration (``APP_ENV=production``: Secure
session cookies) over plain HTTP on loopback, so it keeps the cookies itself, as a browser
behind the TLS proxy would. It runs on every test database: SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` is set.
"""
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from tests.conftest import CSRF_RE, PASSWORD, TEST_REDIS_URL
from tests.harness import fire, gunicorn

ROOT = Path(__file__).resolve().parents[1]


# --- /healthz ------------------------------------------------------------------------------

def test_healthz_ok(client):
    for url in ("/healthz", "/sehat"):
        response = client.get(url)
        assert (response.status_code, response.get_json()) == (200, {"status": "ok"}), url
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("uri", [
    "sqlite:////nonexistent-folder/okoce.sqlite",
    "postgresql+psycopg://okoce@127.0.0.1:1/okoce",  # nothing listens on port 1
])
def test_healthz_reports_an_unreachable_database(uri, caplog):
    broken = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "x"})
    try:
        with caplog.at_level(logging.WARNING):
            for url in ("/healthz", "/sehat"):
                response = broken.test_client().get(url)
                assert (response.status_code, response.get_json()) == (503, {"status": "error"}), url
    finally:
        with broken.app_context():
            db.engine.dispose()
    assert "Health check: the database does not answer." in caplog.text
    assert "OperationalError" in caplog.text  # the cause is in the log, not in the answer


# --- Production configuration ------------------------------------------------------------------

def test_production_500_is_indonesian_without_trace_and_logged(app, database_url, monkeypatch, caplog):
    monkeypatch.setenv("APP_ENV", "production")
    production = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "uji-produksi",
                             "RATELIMIT_STORAGE_URI": TEST_REDIS_URL, "TASK_QUEUE_URL": TEST_REDIS_URL,
                             "PUBLIC_BASE_URL": "https://okoce.publik.example"})
    assert not production.debug and not production.testing and production.config["SESSION_COOKIE_SECURE"]

    @production.get("/_uji_galat")
    def _boom():
        raise RuntimeError("rahasia internal 4242")

    try:
        with caplog.at_level(logging.ERROR):
            response = production.test_client().get("/_uji_galat")
    finally:
        with production.app_context():
            db.engine.dispose()
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Terjadi kesalahan" in html and "sudah dicatat" in html
    assert "rahasia internal" not in html and "Traceback" not in html and "RuntimeError" not in html
    assert "Content-Security-Policy" in response.headers
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged and "rahasia internal 4242" in caplog.text and "Traceback" in caplog.text


def test_production_refuses_to_start_without_secret_key(tmp_path):
    """In a fresh interpreter, as gunicorn would load it: without SECRET_KEY there is no app."""
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite",
           "RATELIMIT_STORAGE_URI": TEST_REDIS_URL}
    env.pop("SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr
    env["SECRET_KEY"] = "uji-produksi"
    env["PUBLIC_BASE_URL"] = "https://okoce.publik.example"
    assert subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                          timeout=60).returncode == 0


@pytest.mark.parametrize("value", [None, "okoce.example.go.id", "https://okoce.example.go.id/?x=1"])
def test_production_refuses_to_start_without_a_public_base_url(tmp_path, value):
    """QR codes on printed documents carry PUBLIC_BASE_URL: without a valid one there is no app."""
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite",
           "RATELIMIT_STORAGE_URI": TEST_REDIS_URL, "SECRET_KEY": "uji-produksi"}
    env.pop("PUBLIC_BASE_URL", None)
    if value is not None:
        env["PUBLIC_BASE_URL"] = value
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "PUBLIC_BASE_URL must" in result.stderr


@pytest.mark.parametrize("queue", [None, "sqlite:////tmp/antrean.sqlite"])
def test_production_with_a_database_server_refuses_a_queue_of_one_machine(tmp_path, queue):
    """Several app servers share PostgreSQL: a job one of them makes must reach the worker, so the
    queue is Redis; a SQLite queue (the default, one machine's file) is refused at start."""
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "uji-produksi",
           "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/okoce_uji_antrean",
           "RATELIMIT_STORAGE_URI": TEST_REDIS_URL, "PUBLIC_BASE_URL": "https://okoce.publik.example"}
    env.pop("TASK_QUEUE_URL", None)
    if queue:
        env["TASK_QUEUE_URL"] = queue
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "TASK_QUEUE_URL must name a Redis" in result.stderr
    env["TASK_QUEUE_URL"] = TEST_REDIS_URL
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert "TASK_QUEUE_URL" not in started.stderr


def _proxied_app(database_url, proxies: int):
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TRUSTED_PROXIES": proxies,
                       "LOGIN_RATE_LIMIT": "2 per minute"})


def _attempts(application, forwarded_for: str, n: int) -> list[int]:
    client = application.test_client()
    headers = {"X-Forwarded-For": forwarded_for}
    statuses = []
    for _ in range(n):
        token = CSRF_RE.search(client.get("/masuk", headers=headers).get_data(as_text=True)).group(1)
        statuses.append(client.post("/masuk", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                    data={"csrf_token": token, "username": "tidak.ada", "password": "salah"})
                        .status_code)
    return statuses


@pytest.mark.parametrize("proxies", [0, 1])
def test_rate_limit_counts_clients_behind_the_proxy(app, database_url, proxies):
    """Behind nginx every request comes from 127.0.0.1: trusting X-Forwarded-For keeps one
office's failed logins from locking out the others; without a trusted proxy it is ignored."""
    from app.extensions import limiter

    proxied = _proxied_app(database_url, proxies)
    try:
        limiter.reset()
        first = _attempts(proxied, "203.0.113.5", 3)
        other = _attempts(proxied, "203.0.113.6", 1)
    finally:
        limiter.reset()
        with proxied.app_context():
            db.engine.dispose()
    assert first == [422, 422, 429]
    assert other == ([422] if proxies else [429])  # a forged header does not escape the limit


def test_hsts_only_over_https(app, database_url):
    proxied = _proxied_app(database_url, 1)
    try:
        client = proxied.test_client()
        secure = client.get("/masuk", headers={"X-Forwarded-Proto": "https"})
        plain = client.get("/masuk")
    finally:
        with proxied.app_context():
            db.engine.dispose()
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers


# --- gunicorn --------------------------------------------------------------------------------

def test_gunicorn_serves_a_walk_in_registration(app, database_url, make_user, tmp_path, redis_url):
    from app.participants.models import Participant, Sector
    from app.regions.models import Kelurahan

    staff = make_user("staff", kecamatan="31.74.01", username="meja.tebet")
    with app.app_context():
        sector_id = db.session.scalars(select(Sector).where(Sector.code == "kuliner")).one().id
        kel = db.session.scalars(select(Kelurahan).where(Kelurahan.code == "31.74.01.1001")).one()
        kelurahan = f"{kel.name} — Kec. {kel.kecamatan.name} ({kel.code})"
    with gunicorn(database_url, tmp_path, 2, RATELIMIT_STORAGE_URI=redis_url) as served:
        browser = served.browser
        token = browser.csrf("/masuk")
        session_cookie = browser.set_cookie_headers[-1]
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        status, headers, _ = browser.request("POST", "/masuk", {"csrf_token": token, "username": "meja.tebet",
                                                                "password": PASSWORD, "next": ""})
        assert status == 302 and headers["Location"] == "/", status

        token = browser.csrf("/peserta/daftar")
        status, headers, html = browser.request("POST", "/peserta/daftar", {
            "csrf_token": token, "nik": "3174011708859901", "name": "Budi Santoso", "birth_date": "", "gender": "",
            "phone": "0812-3456-7890", "email": "", "address": "Jl. Tebet Raya 1", "kelurahan": kelurahan,
            "business_name": "Bakso Budi", "sector_id": str(sector_id), "stage": "berjalan"})
        assert status == 302, html[:2000]
        status, _, page = browser.request("GET", headers["Location"])
        assert status == 200 and "317401-2026-00001" in page
    assert served.proc.returncode == 0, served.log.read_text()
    with app.app_context():
        participant = db.session.scalars(select(Participant)).one()
        assert (participant.nik, participant.name, participant.registered_by_id) == (
            "3174011708859901", "Budi Santoso", staff.id)
        assert (participant.status, participant.channel, participant.kecamatan.code) == ("active", "walkin", "31.74.01")
    log = served.log.read_text()
    assert re.search(r'"POST /peserta/daftar HTTP/1.1" 302', log)  # the access log
    assert "Booting worker" in log and log.count("Booting worker") == 2


def test_gunicorn_workers_share_the_login_limits(app, database_url, make_user, tmp_path, redis_url):
    """Five workers, one Redis: 15 failed logins at once from one address let exactly the limit
    through; 8 from eight addresses on one account lock it after the account's limit."""
    user = make_user("staff")
    with gunicorn(database_url, tmp_path, 5, RATELIMIT_STORAGE_URI=redis_url, TRUSTED_PROXIES="1",
                  LOGIN_RATE_LIMIT="5 per minute", LOGIN_ACCOUNT_LIMIT="3 per 5 minutes") as served:
        browser = served.browser
        token = browser.csrf("/masuk")
        per_address = fire(
            browser, "POST", "/masuk", [{"csrf_token": token, "username": f"tidak.ada{i}", "password": "salah-sekali-123"}
                      for i in range(15)], [{"X-Forwarded-For": "203.0.113.7"}] * 15)
        per_account = fire(
            browser, "POST", "/masuk", [{"csrf_token": token, "username": user.username, "password": "salah-sekali-123"}] * 8,
            [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(8)])
        _, _, after = browser.request("POST", "/masuk", {"csrf_token": token, "username": user.username,
                                                         "password": PASSWORD})
    assert sorted(a.status for a in per_address) == [422] * 5 + [429] * 10
    wrong = [a for a in per_account if "Nama pengguna atau kata sandi salah." in a.text]
    locked = [a for a in per_account if "Akun dikunci sementara" in a.text]
    assert (len(wrong), len(wrong) + len(locked)) == (2, 8)  # the third failure locks, whoever sends it
    assert "Akun dikunci sementara" in after  # the right password waits too


def test_workers_recycle_far_apart():
    """Each worker's request limit is drawn from a window half as wide as the limit itself, so the
    workers of one server do not restart together (a pause in service when they did)."""
    import runpy
    from pathlib import Path

    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    assert conf["max_requests"] > 0 and conf["max_requests_jitter"] >= conf["max_requests"] // 2
