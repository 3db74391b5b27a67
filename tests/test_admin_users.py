import re

from sqlalchemy import select

from app.auth.models import User
from app.core.audit import AuditLog
from app.extensions import db
from tests.conftest import login, post_form
from tests.conftest import kecamatan_by_code


def _kec_value(app, code):
    with app.app_context():
        return f"kecamatan:{kecamatan_by_code(code).id}"


def test_non_admin_roles_are_refused(client, login_as):
    login_as("staff")
    for url in ("/admin/pengguna", "/admin/pengguna/baru", "/pengaturan"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Akses ditolak" in response.get_data(as_text=True)
    # The desk keeps its own kecamatan's letterhead (it prints the letters; tests/test_settings.py).
    assert client.get("/pengaturan/kop-surat").status_code == 200


def test_roles_that_print_no_letters_may_not_open_the_letterhead(app, make_user):
    for role in ("manager", "facilitator", "pendamping"):
        client = app.test_client()
        user = make_user(role, username=f"peran.{role}")
        assert login(client, user.username).status_code == 302
        response = client.get("/pengaturan/kop-surat")
        assert response.status_code == 403, role
        assert "Akses ditolak" in response.get_data(as_text=True)


def test_admin_creates_a_staff_user(app, client, login_as):
    login_as("admin")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": "Sari.Tebet", "full_name": "Sari Wulandari", "role": "staff",
        "wilayah": _kec_value(app, "31.74.01"), "password": ""}, token_url="/admin/pengguna/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Pengguna dibuat" in html
    password = re.search(r'id="new-password">([^<]+)<', html).group(1)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "sari.tebet")).one()
        assert user.kecamatan.name == "Tebet" and user.kota.code == "31.74" and user.must_change_password
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "user.create",
                                                         AuditLog.entity_id == user.id)).one()
    other = app.test_client()
    assert login(other, "sari.tebet", password).status_code == 302
    assert other.get("/").headers["Location"].endswith("/akun/sandi")


def test_invalid_user_form_keeps_input_and_explains(app, client, login_as):
    admin = login_as("admin")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": admin.username, "full_name": "Nama <b>Tebal</b>", "role": "staff", "wilayah": "province",
        "password": "pendek"}, token_url="/admin/pengguna/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Kata sandi minimal 12 karakter." in html
    assert "Nama &lt;b&gt;Tebal&lt;/b&gt;" in html  # kept, shown as text


def test_role_and_scope_must_match(app, client, login_as):
    login_as("admin")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": "petugas.x", "full_name": "Petugas X", "role": "staff", "wilayah": "province",
        "password": ""}, token_url="/admin/pengguna/baru")
    assert response.status_code == 422
    assert "Petugas meja bekerja untuk satu kecamatan." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "petugas.x")).first() is None


def test_duplicate_username(app, client, login_as, make_user):
    login_as("admin")
    make_user("staff", username="budi")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": "BUDI", "full_name": "Budi Lain", "role": "staff", "wilayah": _kec_value(app, "31.74.01"),
        "password": ""}, token_url="/admin/pengguna/baru")
    assert response.status_code == 422
    assert "Nama pengguna ini sudah dipakai." in response.get_data(as_text=True)


def test_too_long_input_is_refused_politely(client, login_as):
    login_as("admin")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": "a" * 2000, "full_name": "x" * 2000, "role": "staff", "wilayah": "province", "password": ""},
        token_url="/admin/pengguna/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Terlalu panjang" in html


def test_edit_user_changes_scope_and_ends_sessions(app, client, login_as, make_user):
    login_as("admin")
    staff = make_user("staff")
    other = app.test_client()
    login(other, staff.username)
    assert other.get("/").status_code == 200
    response = post_form(client, f"/admin/pengguna/{staff.id}", {
        "full_name": "Pindah Menteng", "role": "staff", "wilayah": _kec_value(app, "31.71.06")},
        token_url=f"/admin/pengguna/{staff.id}")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, staff.id)
        assert user.kecamatan.name == "Menteng" and user.full_name == "Pindah Menteng"
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.update")).one()
        assert entry.changes["full_name"]["after"] == "Pindah Menteng"
    assert other.get("/").status_code == 302  # old session no longer valid


def test_deactivate_and_reactivate(app, client, login_as, make_user):
    login_as("admin")
    staff = make_user("staff")
    url = f"/admin/pengguna/{staff.id}"
    response = post_form(client, f"{url}/status", {"active": "0"}, token_url=url)
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "dinonaktifkan" in page and "Aktifkan akun" in page
    assert login(app.test_client(), staff.username).status_code == 422
    post_form(client, f"{url}/status", {"active": "1"}, token_url=url)
    assert login(app.test_client(), staff.username).status_code == 302


def test_admin_cannot_deactivate_self(app, client, login_as):
    admin = login_as("admin")
    url = f"/admin/pengguna/{admin.id}"
    response = post_form(client, f"{url}/status", {"active": "0"}, token_url=url, follow_redirects=True)
    assert "Anda tidak dapat menonaktifkan akun Anda sendiri." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin.id).active


def test_reset_password_shows_a_new_one_once(app, client, login_as, make_user):
    login_as("admin")
    staff = make_user("staff")
    url = f"/admin/pengguna/{staff.id}"
    html = post_form(client, f"{url}/reset-sandi", {}, token_url=url).get_data(as_text=True)
    assert "Kata sandi direset" in html
    password = re.search(r'id="new-password">([^<]+)<', html).group(1)
    assert login(app.test_client(), staff.username).status_code == 422  # the old one is gone
    assert login(app.test_client(), staff.username, password).status_code == 302


def test_user_list_search_page_and_fragment(client, login_as, make_user):
    login_as("admin")
    make_user("staff", username="rina.tebet")
    make_user("facilitator", username="joko.fasil")
    page = client.get("/admin/pengguna?q=rina")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "rina.tebet" in html and "joko.fasil" not in html
    assert "HX-Request" in page.headers.get("Vary", "")
    fragment = client.get("/admin/pengguna?q=joko", headers={"HX-Request": "true"})
    fhtml = fragment.get_data(as_text=True)
    assert "<html" not in fhtml and "joko.fasil" in fhtml and "rina.tebet" not in fhtml
    empty = client.get("/admin/pengguna?q=tidakada", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Tidak ada pengguna yang cocok" in empty


def test_user_list_is_paginated(app, client, login_as, make_user):
    login_as("admin")
    app.config["PAGE_SIZE"] = 5
    try:
        for i in range(7):
            make_user("staff", username=f"p{i:02d}")
        first = client.get("/admin/pengguna?role=staff").get_data(as_text=True)
        second = client.get("/admin/pengguna?role=staff&hal=2").get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = 50
    assert "1–5 dari 7" in first and "Berikutnya" in first
    assert "6–7 dari 7" in second and "p06" in second and "p00" not in second


def test_cli_users_create(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--username", "dewi", "--name", "Dewi", "--role", "staff",
                                 "--kecamatan", "31.74.01"])
    assert result.exit_code == 0, result.output
    assert "Password (shown once)" in result.output
    bad = runner.invoke(args=["users", "create", "--username", "x1", "--name", "X", "--role", "staff"])
    assert bad.exit_code != 0 and "satu kecamatan" in bad.output
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "dewi")).one().kecamatan.name == "Tebet"


def test_cli_ensure_admin_only_when_empty(app, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setenv("ADMIN_PASSWORD", "admin-rahasia-1")
    first = runner.invoke(args=["users", "ensure-admin"])
    assert "First admin created" in first.output and "shown once" not in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert second.output == ""
    assert login(app.test_client(), "admin", "admin-rahasia-1").status_code == 302


def test_demo_data_creates_every_role(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["demo-data"])
    assert "created" not in again.output.replace("(password", "")
    with app.app_context():
        roles = set(db.session.scalars(select(User.role)))
    assert roles == {"admin", "manager", "staff", "facilitator", "pendamping"}
    assert login(app.test_client(), "tebet.petugas", "demo-okoce-2026").status_code == 302


def test_tampered_choices_get_indonesian_messages(client, login_as):
    login_as("admin")
    response = post_form(client, "/admin/pengguna/baru", {
        "username": "tamper", "full_name": "T", "role": "raja", "wilayah": "planet:9", "password": ""},
        token_url="/admin/pengguna/baru")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Not a valid" not in html
    assert "Pilih wilayah kerja." in html or "Peran tidak dikenal." in html
    assert client.get("/admin/pengguna?role=raja&status=x").status_code == 200
