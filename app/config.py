"""Configuration from environment variables.

``APP_ENV=production`` selects :class:`ProductionConfig`, which refuses to start without
``SECRET_KEY``. Elsewhere a random key is created once in ``instance/secret_key``.
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _instance_secret(instance_path: str) -> str:
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
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
    # Idle timeout: the session is permanent and refreshed on every request.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=float(os.environ.get("IDLE_TIMEOUT_HOURS", "8")))
    SESSION_REFRESH_EACH_REQUEST = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    ONLINE_RATE_LIMIT = os.environ.get("ONLINE_RATE_LIMIT", "20 per hour")
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # Reverse proxies in front of the app (nginx: 1). Their X-Forwarded-For/-Proto are trusted, so
    # rate limits count per client, not per proxy; 0 ignores the headers (they could be forged).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PROVINCE_NAME = os.environ.get("PROVINCE_NAME", "Provinsi DKI Jakarta")
    PAGE_SIZE = 50


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    LOGIN_RATE_LIMIT = "100000 per minute"  # tests that check the limit lower it
    ONLINE_RATE_LIMIT = "100000 per minute"


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
        db_path = Path(app.instance_path) / "okoce.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    if not app.config.get("SECRET_KEY"):
        if env == "production":
            raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
