"""Formatting, audit helper, security headers, error pages, htmx configuration."""
import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import audit
from app.core.formatting import angka, mask_nik, mask_phone, rupiah, tanggal, tanggal_jam
from app.extensions import db
from app.settings.models import ProgramSetting

ROOT = Path(__file__).resolve().parents[1]


def test_indonesian_formatting():
    assert tanggal(date(2026, 11, 22)) == "22 November 2026"
    assert tanggal(date(2026, 11, 22), weekday=True) == "Minggu, 22 November 2026"
    assert tanggal(date(2026, 2, 1)) == "1 Februari 2026"
    assert tanggal_jam(datetime(2026, 11, 22, 7, 5)) == "22 November 2026 14.05"  # UTC shown in WIB
    assert tanggal(datetime(2026, 11, 22, 18, 0)) == "23 November 2026"  # 01.00 WIB the next day
    assert angka(9468) == "9.468" and angka(1234567) == "1.234.567" and angka(0) == "0"
    assert rupiah(1500000) == "Rp 1.500.000" and rupiah(0) == "Rp 0"
    assert mask_nik("3171011708850001") == "3171••••••••0001"
    assert mask_phone("+6281234567890") == "+62812••••7890"
    assert tanggal(None) == angka(None) == rupiah(None) == mask_nik(None) == ""


def test_audit_diff_records_before_and_after(ctx):
    settings = ProgramSetting(id=1)
    db.session.add(settings)
    db.session.flush()
    before = audit.snapshot(settings)
    settings.mode = "bebas"
    settings.target_kelurahan_per_year = 150
    changes = audit.diff(before, settings)
    assert changes["mode"] == {"before": "berurutan", "after": "bebas"}
    assert changes["target_kelurahan_per_year"] == {"before": 200, "after": 150}
    assert "target_province_per_year" not in changes
    audit.record("settings.update", settings, changes=changes, summary="uji")
    stored = db.session.scalars(select(audit.AuditLog).where(audit.AuditLog.action == "settings.update")).one()
    assert stored.entity_type == "program_setting" and stored.entity_id == 1 and stored.changes == changes


def test_audit_hides_secrets(ctx, make_user):
    from app.auth.models import User

    user = db.session.get(User, make_user("staff").id)
    before = audit.snapshot(user)
    user.set_password("kata-sandi-baru-1")
    changes = audit.diff(before, user)
    assert changes["password_hash"] == {"before": "•••", "after": "•••"}
    assert "kata-sandi" not in json.dumps(changes)


def test_security_headers_on_pages(client, login_as):
    for response in (client.get("/masuk"),):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    login_as("admin")
    for url in ("/", "/admin/pengguna", "/pengaturan", "/pengaturan/kop-surat"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers


def test_no_inline_script_and_nothing_from_another_host(client, login_as):
    login_as("admin")
    for url in ("/", "/admin/pengguna", "/admin/pengguna/baru", "/pengaturan"):
        html = client.get(url).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}"
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_htmx_vendored_and_configured(client):
    html = client.get("/masuk").get_data(as_text=True)
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert (ROOT / "app/static/vendor/htmx-2.0.11.min.js").stat().st_size > 10_000
    assert (ROOT / "app/static/vendor/htmx-2.0.11.LICENSE").exists()
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']+)\'', html).group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0  # no personal data kept in localStorage
    assert {"code": "422", "swap": True} in config["responseHandling"]
    with client.get("/static/vendor/htmx-2.0.11.min.js") as response:
        assert response.status_code == 200


def test_csrf_header_for_htmx(client, login_as):
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    # The header token is accepted in place of the form field (as htmx sends it).
    response = client.post("/pengaturan", data={"mode": "bebas", "target_province": "1", "target_kelurahan": "1"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302
    refused = client.post("/pengaturan", data={"mode": "bebas"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400


def test_error_pages_are_indonesian_without_trace(app, database_url, client, login_as, caplog):
    from app import create_app

    login_as("staff")
    response = client.get("/tidak-ada-halaman-ini")
    assert response.status_code == 404 and "Halaman tidak ditemukan" in response.get_data(as_text=True)

    other = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": False})

    @other.get("/_uji_galat")
    def _boom():
        raise RuntimeError("rahasia internal")

    response = other.test_client().get("/_uji_galat")
    with other.app_context():
        db.engine.dispose()
    assert "rahasia internal" in caplog.text  # logged for the operator
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Terjadi kesalahan" in html
    assert "rahasia internal" not in html and "Traceback" not in html


def test_health(client):
    assert client.get("/sehat").get_json() == {"status": "ok"}


def test_production_refuses_missing_secret_key(monkeypatch, tmp_path):
    from app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite", "SECRET_KEY": None})


def test_audit_log_page_filters(app, client, login_as, make_user):
    from tests.conftest import login

    admin = login_as("admin")
    staff = make_user("staff", username="rina.tebet")
    login(app.test_client(), staff.username)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "user.login" in html and "rina.tebet" in html and admin.username in html
    only = client.get("/admin/audit?pengguna=rina", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "rina.tebet" in only and admin.username not in only and "<html" not in only
    assert "Tidak ada catatan" in client.get("/admin/audit?dari=2001-01-01&sampai=2001-01-02").get_data(as_text=True)


def test_audit_log_page_is_admin_only(client, login_as):
    login_as("manager")
    assert client.get("/admin/audit").status_code == 403
