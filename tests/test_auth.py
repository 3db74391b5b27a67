from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditLog
from app.core.security import is_safe_next
from app.extensions import db
from tests.conftest import PASSWORD, csrf_from, login, post_form


def test_login_page_is_indonesian(client):
    response = client.get("/masuk")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="id">' in html and "Nama pengguna" in html and "Kata sandi" in html


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/masuk?next=" in response.headers["Location"]


def test_login_and_logout(client, make_user):
    user = make_user("staff")
    response = login(client, user.username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert user.full_name in home and "Kecamatan Tebet" in home
    token = csrf_from(client, "/")
    response = client.post("/keluar", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_logout_requires_post_with_csrf(client, make_user):
    user = make_user("staff")
    login(client, user.username)
    assert client.get("/keluar").status_code == 405
    response = client.post("/keluar", data={})
    assert response.status_code == 400
    assert "Sesi formulir sudah kedaluwarsa" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still logged in


def test_wrong_password_and_unknown_user_get_the_same_message(client, make_user):
    user = make_user("staff")
    wrong = login(client, user.username, "salah-sekali-123")
    unknown = login(client, "tidak.ada", "salah-sekali-123")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Nama pengguna atau kata sandi salah." in response.get_data(as_text=True)
    assert f'value="{user.username}"' in wrong.get_data(as_text=True)  # what was typed is kept


def test_empty_login_form_shows_field_errors(client):
    response = client.post("/masuk", data={"csrf_token": csrf_from(client), "username": "", "password": ""})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("Wajib diisi.") == 2


def test_inactive_user_is_refused(client, make_user):
    user = make_user("staff", active=False)
    response = login(client, user.username)
    assert response.status_code == 422
    assert "Akun ini dinonaktifkan" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivation_ends_an_open_session(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_safe_next_redirect(client, make_user):
    user = make_user("admin")
    response = login(client, user.username, next_url="/admin/pengguna")
    assert response.headers["Location"] == "/admin/pengguna"


def test_unsafe_next_goes_home(client, make_user):
    user = make_user("admin")
    response = login(client, user.username, next_url="https://jahat.example/")
    assert response.headers["Location"] == "/"


def test_is_safe_next():
    assert is_safe_next("/admin/pengguna?hal=2")
    for bad in ("https://x.example/", "//x.example", "/\\x.example", "javascript:alert(1)", "", None,
                "x/y", "/\x00"):
        assert not is_safe_next(bad), bad


def test_password_is_hashed_with_scrypt(app, make_user):
    user = make_user("staff")
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_login_is_audited(app, client, make_user):
    user = make_user("staff")
    login(client, user.username)
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).where(AuditLog.user_id == user.id)).all()
    assert "user.login" in actions


def test_session_is_renewed_at_login(client, make_user):
    user = make_user("staff")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    login(client, user.username)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.permanent


def test_forced_password_change_then_change(app, client, make_user):
    user = make_user("staff")
    with app.app_context():
        db.session.get(User, user.id).must_change_password = True
        db.session.commit()
    login(client, user.username)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/akun/sandi")
    bad = post_form(client, "/akun/sandi", {"current": PASSWORD, "new": "pendek", "confirm": "pendek"},
                    token_url="/akun/sandi")
    assert bad.status_code == 422 and "Kata sandi minimal 12 karakter." in bad.get_data(as_text=True)
    mismatch = post_form(client, "/akun/sandi", {"current": PASSWORD, "new": "baru-sekali-99", "confirm": "lain-99999x"},
                         token_url="/akun/sandi")
    assert "Tidak sama dengan kata sandi baru." in mismatch.get_data(as_text=True)
    wrong = post_form(client, "/akun/sandi", {"current": "keliru-123456", "new": "baru-sekali-99",
                                              "confirm": "baru-sekali-99"}, token_url="/akun/sandi")
    assert "Kata sandi sekarang salah." in wrong.get_data(as_text=True)
    ok = post_form(client, "/akun/sandi", {"current": PASSWORD, "new": "baru-sekali-99", "confirm": "baru-sekali-99"},
                   token_url="/akun/sandi")
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # still logged in, no longer forced
    client.post("/keluar", data={"csrf_token": csrf_from(client, "/")})
    assert login(client, user.username, "baru-sekali-99").status_code == 302


def test_login_rate_limit(app, make_user):
    from app.extensions import limiter

    user = make_user("staff")
    client = app.test_client()
    saved = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    try:
        limiter.reset()
        statuses = [login(client, user.username, "salah-sekali-123").status_code for _ in range(11)]
        blocked = login(client, user.username)
    finally:
        app.config["LOGIN_RATE_LIMIT"] = saved
        limiter.reset()
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    assert blocked.status_code == 429  # even the right password waits
    assert "Terlalu banyak permintaan" in blocked.get_data(as_text=True)


def test_with_rate_limits_off_failures_never_lock_an_account(app):
    """RATELIMIT_ENABLED off: failed logins are neither counted into a lock nor reported as one."""
    from app.auth import throttle

    with app.test_request_context():
        limit = app.config["LOGIN_ACCOUNT_LIMIT"]
        app.config.update(RATELIMIT_ENABLED=False, LOGIN_ACCOUNT_LIMIT="3 per minute")
        try:
            assert [throttle.note_failure("siapa.saja") for _ in range(8)] == [None] * 8
            assert throttle.locked_until("siapa.saja") is None
        finally:
            throttle.clear("siapa.saja")
            app.config.update(RATELIMIT_ENABLED=True, LOGIN_ACCOUNT_LIMIT=limit)
