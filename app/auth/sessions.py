"""Server-side sessions (Flask-Session): logging out ends the session on the server.

The browser holds only a random session id; the session's data lives in the app's own
database (table ``web_session``, the default, shared by every app server that shares the
database) or in Redis (``SESSION_STORAGE_URI=redis://…``). Logging out deletes the stored
session, so a cookie saved before is worth nothing afterwards.

Three clocks end a logged-in session:
- idle: ``IDLE_TIMEOUT_MINUTES`` without a request (the stored session expires, and the
  recorded last-seen time is checked on every request);
- absolute: ``SESSION_ABSOLUTE_HOURS`` after login, however busy (a working day);
- all devices: the user's ``session_token`` is part of the login id; "keluar dari semua
  perangkat", a password change, a reset, a change of role or scope and deactivation
  replace it, so every other session of that user no longer loads a user.

A session is written only when it changes (login, flash message, CSRF token) and at most
once a minute to move the idle clock, not on every request.
"""
import hashlib
import time
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import login_user, logout_user
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from sqlalchemy import DateTime, LargeBinary, String, bindparam, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import run_prepared, write_lock_from_now
from ..core.htmx import is_htmx
from ..core.timeutil import utcnow
from ..extensions import db

LOGIN_AT, SEEN_AT = "_login_at", "_seen_at"
TOUCH_EVERY = 60  # seconds between writes that only move the idle clock
EXPIRED_MESSAGE = "Sesi Anda sudah berakhir. Silakan masuk kembali."


class WebSession(db.Model):
    """One browser session; ``key`` is a hash of the cookie's id, so the table cannot be replayed."""

    __tablename__ = "web_session"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


_LOAD = select(WebSession.data, WebSession.expires_at).where(WebSession.key == bindparam("store_id"))  # every request


class DatabaseSessionInterface(ServerSideSessionInterface):
    """Flask-Session's server-side session, stored through the app's own SQLAlchemy session.

    The session is saved after the view has answered; a view commits its own work before
    that, so whatever it left uncommitted is rolled back first and never saved by accident.
    """

    session_class = ServerSideSession
    ttl = False  # expired rows are removed now and then when a new session is stored

    def __init__(self, app: Flask):
        super().__init__(app, key_prefix="", permanent=True, sid_length=32, serialization_format="msgpack",
                         cleanup_n_requests=None)

    def _register_cleanup_app_command(self):  # the library's own CLI name; we clean on insert
        return None

    def _get_store_id(self, sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        row = run_prepared(_LOAD, {"store_id": store_id}).first()
        if row is None or row.expires_at <= utcnow():
            return None
        return self.serializer.decode(row.data)

    def _delete_session(self, store_id: str) -> None:
        db.session.rollback()
        db.session.execute(delete(WebSession).where(WebSession.key == store_id))
        db.session.commit()

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        data = self.serializer.encode(session)
        expires_at = utcnow() + session_lifetime
        db.session.rollback()
        write_lock_from_now()  # read then write the same row: hold SQLite's write lock throughout
        row = db.session.get(WebSession, store_id)
        if row is None:
            self._delete_expired_sessions()
            db.session.add(WebSession(key=store_id, data=data, expires_at=expires_at))
        else:
            row.data, row.expires_at = data, expires_at
        db.session.commit()

    def _delete_expired_sessions(self) -> None:
        db.session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))


def _interface(app: Flask) -> ServerSideSessionInterface:
    uri = app.config["SESSION_STORAGE_URI"]
    if uri == "database":
        return DatabaseSessionInterface(app)
    if uri.startswith(("redis://", "rediss://", "unix://")):
        from flask_session.redis import RedisSessionInterface
        from redis import Redis

        return RedisSessionInterface(app, client=Redis.from_url(uri), key_prefix="okoce:session:", permanent=True)
    raise RuntimeError(f"SESSION_STORAGE_URI must be 'database' or a redis:// address, not {uri!r}.")


def init_sessions(app: Flask) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"])
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False  # written when changed, and by _enforce_clocks
    app.session_interface = _interface(app)
    app.before_request(_enforce_clocks)


def start_session(user) -> None:
    """Log ``user`` in on a new session id (no fixation), with both clocks started.

    The old stored session is deleted at once, in a transaction of its own: call this before
    the view writes anything (or after it committed)."""
    current_app.session_interface.regenerate(session)
    session.clear()
    session.permanent = True
    login_user(user)
    now = int(time.time())
    session[LOGIN_AT] = session[SEEN_AT] = now


def renew_session(user) -> None:
    """After a password change: a new session id and login id, the absolute clock kept."""
    login_at = session.get(LOGIN_AT, int(time.time()))
    start_session(user)
    session[LOGIN_AT] = login_at


def end_session() -> None:
    """Log out here: the stored session is deleted; what follows (a flash message) gets a new id."""
    current_app.session_interface.regenerate(session)
    logout_user()
    session.clear()


def _enforce_clocks():
    if "_user_id" not in session:
        return None
    now = int(time.time())
    idle = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    login_at, seen_at = session.get(LOGIN_AT, 0), session.get(SEEN_AT, 0)
    if now - seen_at > idle or now - login_at > absolute:
        end_session()
        if request.endpoint in ("static", "main.health"):
            return None
        flash(EXPIRED_MESSAGE, "info")
        target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
        response = redirect(target)
        if is_htmx():
            response.headers["HX-Redirect"] = target
        return response
    if now - seen_at >= TOUCH_EVERY:
        session[SEEN_AT] = now
    return None
