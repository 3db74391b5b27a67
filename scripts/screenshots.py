"""Screenshots of the main screens for a reviewer: ``make screenshots`` (PNGs in screenshots/, not committed).

A temporary SQLite database gets the schema, the regions and the demo data (``flask demo-data``); the app
serves it on a free loopback port; Debian's Chromium (the launch flags of the browser tests) logs in as
each demo user and saves every main screen at a desk's size (1366x768) and a phone's (375x812), whole
page. Nothing leaves the machine, and the temporary database is removed afterwards.
"""
import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (one set of launch flags)

VIEWPORTS = [(1366, 768), (375, 812)]


def flask(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    return result.stdout


def prepare(database_url: str, participants: int) -> tuple[dict, str]:
    """Schema, regions and demo data in a fresh database; returns the environment and the demo password."""
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": database_url,
           "SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development"}
    print("Preparing a temporary database with demo data …", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "regions", "load")
    out = flask(env, "demo-data", "--participants", str(participants))
    print(out.strip(), flush=True)
    match = re.search(r"Demo users \(password: (\S+)\):", out)
    if not match:
        raise SystemExit("demo-data did not print the demo password")
    return env, match.group(1)


def screens(app) -> list[tuple[str | None, str, str]]:
    """(demo user or None for the public, file name, URL) of the main screens, with ids from the data."""
    from sqlalchemy import select

    from app.events.models import Event
    from app.extensions import db
    from app.participants.models import Participant
    from app.regions.models import Kecamatan
    from app.training.models import Certificate, Course

    with app.app_context():
        tebet = db.session.scalars(select(Kecamatan).where(Kecamatan.code == "31.74.01")).one()
        participant = db.session.scalars(select(Participant).where(
            Participant.kecamatan_id == tebet.id, Participant.status == "active").order_by(Participant.id)).first()
        course = db.session.scalars(select(Course).where(Course.kecamatan_id == tebet.id).order_by(Course.id)).first()
        event = db.session.scalars(select(Event).where(Event.kecamatan_id == tebet.id).order_by(Event.id)).first()
        certificate = db.session.scalars(select(Certificate).order_by(Certificate.id)).first()
        meeting_id = course.meetings[0].id if course else None
    listing = [
        (None, "masuk", "/masuk"),
        (None, "daftar-daring", "/daftar"),
        ("tebet.petugas", "beranda-petugas", "/"),
        ("tebet.petugas", "peserta", "/peserta"),
        ("tebet.petugas", "daftar-peserta-baru", "/peserta/daftar"),
        ("tebet.petugas", "antrean-daring", "/peserta/antrean"),
        ("tebet.petugas", "impor", "/peserta/impor"),
        ("tebet.petugas", "pelatihan", "/pelatihan"),
        ("tebet.petugas", "sertifikat", "/sertifikat"),
        ("tebet.petugas", "siap-izin", "/siap-izin"),
        ("tebet.petugas", "surat-sku", "/surat-sku"),
        ("tebet.petugas", "acara", "/acara"),
        ("tebet.petugas", "dasbor-kecamatan", "/dasbor"),
        ("tebet.petugas", "rekap-mingguan", "/laporan/mingguan"),
        ("tebet.fasilitator", "hari-ini", "/pelatihan/hari-ini"),
        ("tebet.pendamping", "peserta-dampingan", "/pendampingan/saya"),
        ("demo.dinas", "dasbor-provinsi", "/dasbor"),
        ("demo.admin", "pengguna", "/admin/pengguna"),
        ("demo.admin", "pengaturan", "/pengaturan"),
        ("demo.admin", "kop-surat", "/pengaturan/kop-surat"),
        ("demo.admin", "log-audit", "/admin/audit"),
    ]
    if participant:
        listing.insert(5, ("tebet.petugas", "peserta-detail", f"/peserta/{participant.id}"))
    if course:
        listing.append(("tebet.petugas", "pelatihan-detail", f"/pelatihan/{course.id}"))
        listing.append(("tebet.fasilitator", "daftar-hadir-pertemuan", f"/pertemuan/{meeting_id}"))
        listing.append(("tebet.fasilitator", "check-in", f"/pertemuan/{meeting_id}/check-in"))
    if event:
        listing.append(("tebet.petugas", "acara-detail", f"/acara/{event.id}"))
        listing.append(("tebet.petugas", "acara-kehadiran", f"/acara/{event.id}/kehadiran"))
    if certificate:
        listing.append((None, "verifikasi-sertifikat", f"/verifikasi/{certificate.code}"))
    order = {None: 0, "tebet.petugas": 1, "tebet.fasilitator": 2, "tebet.pendamping": 3, "demo.dinas": 4,
             "demo.admin": 5}
    return sorted(listing, key=lambda s: order[s[0]])  # stable: one login per user


def serve(app):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


def shoot(base_url: str, password: str, listing, out: Path, full_page: bool) -> int:
    from playwright.sync_api import sync_playwright

    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        raise SystemExit(f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    saved = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, height in VIEWPORTS:
                folder = out / f"{width}x{height}"
                folder.mkdir(parents=True, exist_ok=True)
                context = browser.new_context(viewport={"width": width, "height": height}, locale="id-ID",
                                              base_url=base_url)
                page = context.new_page()
                page.set_default_timeout(20_000)
                user = None
                for number, (wanted, name, url) in enumerate(listing, start=1):
                    if wanted != user:
                        context.clear_cookies()
                        if wanted:
                            page.goto("/masuk")
                            page.get_by_label("Nama pengguna").fill(wanted)
                            page.get_by_label("Kata sandi").fill(password)
                            page.get_by_label("Kata sandi").press("Enter")
                            page.wait_for_url(re.compile(r".*/(\?.*)?$"))
                        user = wanted
                    response = page.goto(url)
                    page.wait_for_load_state("networkidle")
                    path = folder / f"{number:02d}-{name}.png"
                    page.screenshot(path=str(path), full_page=full_page)
                    status = response.status if response else 0
                    print(f"  {path}  ({wanted or 'publik'}, {url}, HTTP {status})", flush=True)
                    if not 200 <= status < 300:
                        raise SystemExit(f"{url} answered HTTP {status} for {wanted or 'the public'}")
                    saved += 1
                context.close()
        finally:
            browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000, help="synthetic participants (default 2000)")
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="folder for the PNGs")
    parser.add_argument("--viewport-only", action="store_true", help="the visible screen only, not the whole page")
    args = parser.parse_args()
    out = Path(args.out)
    workdir = Path(tempfile.mkdtemp(prefix="okoce-screens-"))
    try:
        database_url = f"sqlite:///{workdir / 'demo.sqlite'}"
        env, password = prepare(database_url, args.participants)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "APP_ENV")})
        from app import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
        listing = screens(app)
        server, thread, base_url = serve(app)
        print(f"Serving the demo on {base_url}; screenshots into {out} …", flush=True)
        try:
            saved = shoot(base_url, password, listing, out, full_page=not args.viewport_only)
        finally:
            server.shutdown()
            thread.join(timeout=5)
            server.server_close()
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
        print(f"{saved} screenshots saved in {out}.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
