"""Configuration from environment variables.

``APP_ENV=production`` selects :class:`ProductionConfig`, which refuses to start without
``SECRET_KEY``. Elsewhere a random key is created once in ``instance/secret_key``.
"""
import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: str) -> str:
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    # Server-side sessions (app/auth/sessions.py): 'database' (the app's own) or redis://host:port/db.
    SESSION_STORAGE_URI = os.environ.get("SESSION_STORAGE_URI", "database")
    # OWASP ASVS 3.3.2: re-authenticate after 30 minutes idle, and after a working day in any case.
    IDLE_TIMEOUT_MINUTES = int(os.environ.get("IDLE_TIMEOUT_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = float(os.environ.get("SESSION_ABSOLUTE_HOURS", "10"))
    # Shared by every worker and app server: Redis in production (memory:// is refused there).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")  # per address
    # Failed logins per account, from any address: a lock of minutes that grows to an hour.
    LOGIN_ACCOUNT_LIMIT = os.environ.get("LOGIN_ACCOUNT_LIMIT", "5 per 5 minutes; 20 per hour")
    ONLINE_RATE_LIMIT = os.environ.get("ONLINE_RATE_LIMIT", "20 per hour")
    PUBLIC_LOOKUP_LIMIT = os.environ.get("PUBLIC_LOOKUP_LIMIT", "30 per minute")  # /verifikasi, /surat
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For/-Proto are trusted, so
    # rate limits count per client, not per proxy; 0 ignores the headers (they could be forged).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PROVINCE_NAME = os.environ.get("PROVINCE_NAME", "Provinsi DKI Jakarta")
    PAGE_SIZE = 50
    # The participant list counts at most this many matches (beyond: "lebih dari 1.000"); issue 17.
    LIST_COUNT_CAP = 1000
    # The task queue (app/jobs/queue.py): sqlite:///… (default instance/queue.sqlite) or redis://…/2.
    TASK_QUEUE_URL = os.environ.get("TASK_QUEUE_URL")
    JOB_WORKER_STALE_SECONDS = 30  # no heartbeat this long: the page says the queue is not running
    JOB_STALL_SECONDS = int(os.environ.get("JOB_STALL_SECONDS", "120"))  # a running job silent this long (its worker killed) is queued again
    EXPORT_JOB_ROWS = int(os.environ.get("EXPORT_JOB_ROWS", "20000"))  # larger exports run in the background
    PDF_JOB_PAGES = int(os.environ.get("PDF_JOB_PAGES", "100"))  # larger PDF batches too
    IMPORT_JOB_ROWS = int(os.environ.get("IMPORT_JOB_ROWS", "1000"))  # imports of more good rows too
    # The live weekly report's files of these areas are made by the worker (a kecamatan's in the request).
    REPORT_FILE_JOB_LEVELS = tuple(os.environ.get("REPORT_FILE_JOB_LEVELS", "kota,provinsi").replace(",", " ").split())
    # An open meeting this many hours after its end is closed by the worker (unmarked: tidak hadir).
    MEETING_AUTO_CLOSE_HOURS = float(os.environ.get("MEETING_AUTO_CLOSE_HOURS", "6"))
    # The address the public reaches the app at: QR codes and links on documents and in WhatsApp
    # messages are built on it, never on the request's host (app/core/public.py). Required in production.
    PUBLIC_BASE_URL: str | None = os.environ.get("PUBLIC_BASE_URL")


class DevelopmentConfig(Config):
    # `make run` serves on this address; set PUBLIC_BASE_URL to test QR codes from a phone on the LAN.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    LOGIN_RATE_LIMIT = "100000 per minute"  # tests that check the limit lower it
    LOGIN_ACCOUNT_LIMIT = "100000 per minute"
    ONLINE_RATE_LIMIT = "100000 per minute"
    PUBLIC_LOOKUP_LIMIT = "100000 per minute"
    TASK_QUEUE_URL = os.environ.get("TASK_QUEUE_URL", "memory://")  # the worker tests set their own
    # Not the test client's host (localhost): a test can tell the two apart.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "https://okoce.publik.example")
    # The weekly report's tests read every area's files in the request; tests/test_document_jobs.py
    # sets the production default and runs them through the worker.
    REPORT_FILE_JOB_LEVELS = ()


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


def load_config(app, overrides: dict | None) -> None:
    env = os.environ.get("APP_ENV", "development")
    cls = {"production": ProductionConfig, "testing": TestingConfig}.get(env, DevelopmentConfig)
    app.config.from_object(cls)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
        db_path = Path(app.instance_path) / "okoce.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if env == "production" and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise RuntimeError(
            "RATELIMIT_STORAGE_URI must name a store shared by every worker in production "
            "(e.g. redis://127.0.0.1:6379/0): with memory:// each worker counts on its own.")
    queue = app.config.get("TASK_QUEUE_URL") or ""
    if (env == "production" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
            and not queue.startswith("redis://")):
        raise RuntimeError(
            "TASK_QUEUE_URL must name a Redis shared by every app server and the worker in production "
            "with a database server (e.g. TASK_QUEUE_URL=redis://127.0.0.1:6379/2): a SQLite queue is a file "
            "on one machine, so a job made on another app server would never reach the worker.")
    if not app.config.get("PUBLIC_BASE_URL") and env == "production":
        raise RuntimeError(
            "PUBLIC_BASE_URL must be set in production (APP_ENV=production), e.g. "
            "PUBLIC_BASE_URL=https://okoce.example.go.id: QR codes and links on printed documents and "
            "WhatsApp messages carry this address, so the public can verify them from any phone.")
    from .core.public import check_public_base_url

    app.config["PUBLIC_BASE_URL"] = check_public_base_url(app.config.get("PUBLIC_BASE_URL"))


def private_sqlite_file(uri: str) -> None:
    """Create a SQLite database file readable by the owner only, in a folder that exists.

    SQLite gives its -wal and -shm files the database file's permissions."""
    if not uri.startswith("sqlite:///") or uri == "sqlite:///:memory:":
        return
    path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    if path.parent.is_dir() and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
