"""Server-side sessions, their clocks, the per-account login lock, password rules, private files."""
import os
import stat
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.auth.models import User
from app.auth.passwords import password_problem
from app.auth.sessions import LOGIN_AT, SEEN_AT, WebSession
from app.core.audit import AuditLog
from app.core.timeutil import utcnow
from app.extensions import db, limiter
from tests.conftest import PASSWORD, csrf_from, login, post_form

COOKIE = "session"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _replay(app, cookie_value: str):
    """A new browser presenting a saved cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie_value)
    return other


def _session_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebSession))


def test_logout_ends_the_session_on_the_server(app, client, make_user):
    user = make_user("staff")
    assert login(client, user.username).status_code == 302
    saved = _cookie(client)
    assert _replay(app, saved).get("/peserta").status_code == 200  # the cookie is the session
    client.post("/keluar", data={"csrf_token": csrf_from(client, "/")})
    replayed = _replay(app, saved).get("/peserta")
    assert replayed.status_code == 302 and "/masuk" in replayed.headers["Location"]
    assert client.get("/peserta").status_code == 302


def test_the_cookie_holds_only_an_id_and_the_table_only_its_hash(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    value = _cookie(client)
    assert user.username not in value and len(value) >= 40
    with app.app_context():
        keys = db.session.scalars(select(WebSession.key)).all()
    assert keys and value not in keys and all(len(k) == 64 for k in keys)


def test_login_gives_a_new_session_id(app, client, make_user):
    user = make_user("staff")
    client.get("/masuk")  # an anonymous session with a CSRF token
    before = _cookie(client)
    login(client, user.username)
    after = _cookie(client)
    assert before != after
    assert _replay(app, before).get("/peserta").status_code == 302  # the planted id is worth nothing


def test_logout_everywhere_ends_every_session_of_the_user(app, make_user):
    user = make_user("staff")
    desk, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    login(desk, user.username)
    login(phone, user.username)
    login(colleague, make_user("staff").username)
    page = desk.get("/akun/sandi").get_data(as_text=True)
    assert "Keluar dari semua perangkat" in page
    response = post_form(desk, "/akun/keluar-semua", {}, token_url="/akun/sandi")
    assert response.status_code == 302 and response.headers["Location"].endswith("/masuk")
    assert "Anda sudah keluar dari semua perangkat." in desk.get("/masuk").get_data(as_text=True)
    assert desk.get("/peserta").status_code == 302
    assert phone.get("/peserta").status_code == 302
    assert colleague.get("/peserta").status_code == 200  # another user's session is untouched
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "user.logout_everywhere", AuditLog.entity_id == user.id)) == 1


def test_password_change_ends_other_sessions_and_keeps_this_one(app, make_user):
    user = make_user("staff")
    desk, phone = app.test_client(), app.test_client()
    login(desk, user.username)
    login(phone, user.username)
    before = _cookie(desk)
    response = post_form(desk, "/akun/sandi", {"current": PASSWORD, "new": "sepeda hujan kopi lima",
                                               "confirm": "sepeda hujan kopi lima"}, token_url="/akun/sandi")
    assert response.status_code == 302
    assert desk.get("/peserta").status_code == 200
    assert _cookie(desk) != before and _replay(app, before).get("/peserta").status_code == 302
    assert phone.get("/peserta").status_code == 302


def test_deactivation_ends_the_users_sessions(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    admin = app.test_client()
    login(admin, make_user("admin").username)
    post_form(admin, f"/admin/pengguna/{user.id}/status", {"active": "0"}, token_url=f"/admin/pengguna/{user.id}")
    assert client.get("/peserta").status_code == 302


def _age(client, **seconds_ago) -> None:
    with client.session_transaction() as sess:
        now = int(time.time())
        for key, ago in seconds_ago.items():
            sess[{"login": LOGIN_AT, "seen": SEEN_AT}[key]] = now - ago


def test_idle_timeout_ends_the_session(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    idle = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    _age(client, seen=idle - 30)
    assert client.get("/peserta").status_code == 200
    _age(client, seen=idle + 1)
    response = client.get("/peserta?q=budi")
    assert response.status_code == 302 and response.headers["Location"].startswith("/masuk?next=/peserta")
    assert "Sesi Anda sudah berakhir" in client.get("/masuk").get_data(as_text=True)
    assert client.get("/peserta").status_code == 302


def test_absolute_lifetime_ends_a_busy_session(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    absolute = int(app.config["SESSION_ABSOLUTE_HOURS"] * 3600)
    _age(client, login=absolute - 60, seen=5)
    assert client.get("/peserta").status_code == 200
    _age(client, login=absolute + 1, seen=5)
    htmx = client.get("/peserta", headers={"HX-Request": "true"})
    assert htmx.status_code == 302 and htmx.headers["HX-Redirect"].startswith("/masuk")
    assert client.get("/peserta").status_code == 302


def test_a_request_moves_the_idle_clock_without_writing_every_time(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    client.get("/peserta")  # the first page after login stores the new CSRF token
    with app.app_context():
        first = db.session.scalars(select(WebSession.expires_at)).all()
    client.get("/peserta")
    with app.app_context():
        assert db.session.scalars(select(WebSession.expires_at)).all() == first  # read, nothing written
    _age(client, seen=120)
    with app.app_context():
        aged = db.session.scalars(select(WebSession.expires_at)).one()
    client.get("/peserta")
    with app.app_context():
        moved = db.session.scalars(select(WebSession.expires_at)).one()
    assert moved > aged and moved - utcnow() > timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1)


def test_expired_rows_are_removed_when_a_new_session_is_stored(app, make_user):
    with app.app_context():
        db.session.add(WebSession(key="x" * 64, data=b"\x80", expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    app.test_client().get("/masuk")
    with app.app_context():
        assert db.session.get(WebSession, "x" * 64) is None


def test_sessions_in_redis(app, database_url, make_user, redis_url):
    from redis import Redis

    user = make_user("staff")
    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                        "SESSION_STORAGE_URI": redis_url})
    try:
        client = other.test_client()
        login(client, user.username)
        saved = _cookie(client)
        store = Redis.from_url(redis_url)
        keys = store.keys("okoce:session:*")
        assert len(keys) == 1 and 0 < store.ttl(keys[0]) <= other.config["IDLE_TIMEOUT_MINUTES"] * 60
        assert client.get("/peserta").status_code == 200
        client.post("/keluar", data={"csrf_token": csrf_from(client, "/")})
        assert not store.exists(f"okoce:session:{saved}")  # the logged-in session is gone
        assert all(b"_user_id" not in store.get(k) for k in store.keys("okoce:session:*"))  # the flash's own
        replay = other.test_client()
        replay.set_cookie(COOKIE, saved)
        assert replay.get("/peserta").status_code == 302
        assert _session_rows(app) == 0  # nothing went to the database
    finally:
        with other.app_context():
            db.engine.dispose()


def test_production_refuses_per_worker_rate_limits(monkeypatch, database_url):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                    "RATELIMIT_STORAGE_URI": "memory://"})


# --- Failed logins per account ---------------------------------------------------------------

@pytest.fixture
def account_limit(app):
    saved = app.config["LOGIN_ACCOUNT_LIMIT"]
    app.config["LOGIN_ACCOUNT_LIMIT"] = "3 per 5 minutes"
    limiter.reset()
    yield
    app.config["LOGIN_ACCOUNT_LIMIT"] = saved
    limiter.reset()


def _try(app, username: str, password: str, address: str):
    client = app.test_client()
    token = csrf_from(client, "/masuk")
    return client.post("/masuk", data={"csrf_token": token, "username": username, "password": password, "next": ""},
                       environ_base={"REMOTE_ADDR": address})


def test_failed_logins_lock_the_account_from_any_address(app, make_user, account_limit):
    user = make_user("staff")
    statuses = [_try(app, user.username, "salah-sekali-123", f"10.0.0.{i}").status_code for i in range(3)]
    assert statuses == [422, 422, 422]
    locked = _try(app, user.username, PASSWORD, "10.0.0.99")  # the right password, from a new address
    html = locked.get_data(as_text=True)
    assert locked.status_code == 422 and "Akun dikunci sementara" in html and "WIB" in html
    assert _try(app, make_user("staff").username, PASSWORD, "10.0.0.99").status_code == 302  # others unaffected
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "user.login_locked", AuditLog.entity_id == user.id)) == 1


def test_an_unknown_name_is_locked_the_same_way(app, account_limit):
    answers = [_try(app, "tidak.ada", "salah-sekali-123", f"10.0.1.{i}").get_data(as_text=True) for i in range(4)]
    assert "Nama pengguna atau kata sandi salah." in answers[0]
    assert "Akun dikunci sementara" in answers[2] and "Akun dikunci sementara" in answers[3]


def test_a_successful_login_clears_the_failures(app, make_user, account_limit):
    user = make_user("staff")
    for i in range(2):
        _try(app, user.username, "salah-sekali-123", "10.0.2.1")
    assert _try(app, user.username, PASSWORD, "10.0.2.1").status_code == 302
    for i in range(2):
        assert _try(app, user.username, "salah-sekali-123", "10.0.2.1").status_code == 422
    assert _try(app, user.username, PASSWORD, "10.0.2.1").status_code == 302


# --- Passwords ---------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["password12", "password1234", "qwertyuiop12", "123456789012",
                                      "jakarta12345", "jakpreneur2026", "rina.tebet2026", "rinatebet123",
                                      "Wulandari1990", "bismillah123"])
def test_guessable_passwords_are_refused(password):
    assert password_problem(password, ["rina.tebet", "Rina Wulandari"]) is not None


@pytest.mark.parametrize("password", ["sepeda hujan kopi lima", "k7pq-x2mb-9rta", "Lampu-Meja-Biru-88",
                                      "baru-sekali-99"])
def test_long_unguessable_passwords_are_accepted_without_composition_rules(password):
    assert password_problem(password, ["rina.tebet", "Rina Wulandari"]) is None


def test_password_form_explains_in_indonesian(app, client, make_user):
    user = make_user("staff", username="rina.tebet")
    login(client, user.username)
    for new, message in [("pendek", "Kata sandi minimal 12 karakter."), ("password1234", "mudah ditebak"),
                         ("x" * 129, "paling banyak 128 karakter")]:
        response = post_form(client, "/akun/sandi", {"current": PASSWORD, "new": new, "confirm": new},
                             token_url="/akun/sandi")
        assert response.status_code == 422 and message in response.get_data(as_text=True), new
    with app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)  # unchanged


# --- Private files -----------------------------------------------------------------------------

def test_database_file_and_its_folder_are_private(tmp_path):
    from sqlalchemy import text

    folder = tmp_path / "instance"
    path = folder / "okoce.sqlite"
    old = os.umask(0o022)
    application = create_app({"SQLALCHEMY_DATABASE_URI": None, "SECRET_KEY": "x"}, instance_path=str(folder))
    try:
        with application.app_context():
            db.session.execute(text("CREATE TABLE t (x INTEGER)"))
            db.session.execute(text("INSERT INTO t VALUES (1)"))
            db.session.commit()
            files = sorted(folder.iterdir())
            # (-writers: the lock file through which the app's writers take turns, core.db.TakingTurns)
            assert [f.name for f in files] == ["okoce.sqlite", "okoce.sqlite-shm", "okoce.sqlite-wal",
                                               "okoce.sqlite-writers"]
            assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        os.umask(old)
        with application.app_context():
            db.engine.dispose()


def test_public_lookups_share_one_limit_per_address(app, client):
    saved = app.config["PUBLIC_LOOKUP_LIMIT"]
    app.config["PUBLIC_LOOKUP_LIMIT"] = "4 per minute"
    try:
        limiter.reset()
        statuses = [client.get(url).status_code for url in
                    ["/verifikasi/AAAA", "/surat/BBBB", "/verifikasi/CCCC", "/surat/DDDD", "/verifikasi/EEEE"]]
    finally:
        app.config["PUBLIC_LOOKUP_LIMIT"] = saved
        limiter.reset()
    assert statuses == [404, 404, 404, 404, 429]
