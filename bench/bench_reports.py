"""Time the dashboard and the weekly report on a large database (built by bench/build_db.sh).

Usage: .venv/bin/python bench/bench_reports.py [DATABASE_URL]
Every request goes through the real app (login, scope, templates, PDF and XLSX writers); prints the
median of 5 runs per scenario in milliseconds, after checking the tallies agree with the records
on the province total of P1.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_participants import URL, login, timed  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def main():
    os.environ.setdefault("APP_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "RATELIMIT_ENABLED": False})
    with app.app_context():
        people = db.session.execute(db.text("SELECT count(*) FROM participant")).scalar()
        steps = db.session.execute(db.text("SELECT step, count(*) FROM participant_step GROUP BY step ORDER BY step")).all()
        tallied = db.session.execute(db.text("SELECT sum(n) FROM step_tally WHERE step = 1")).scalar()
        tally_rows = db.session.execute(db.text("SELECT count(*) FROM step_tally")).scalar()
        ids = db.session.execute(db.text(
            "SELECT k.id, k.kota_id, (SELECT min(id) FROM kelurahan WHERE kecamatan_id = k.id) "
            "FROM kecamatan k WHERE code = '31.74.01'")).one()
    assert steps[0][1] == tallied, "step tally disagrees with the records"
    print(f"database: {URL.split('@')[-1]} · participants: {people:,} · steps: "
          + ", ".join(f"P{s} {n:,}" for s, n in steps) + f" · step_tally rows: {tally_rows:,}")
    manager, kota, staff = app.test_client(), app.test_client(), app.test_client()
    login(manager, "demo.dinas")
    login(kota, "demo.sudin.jaksel")
    login(staff, "tebet.petugas")
    kecamatan_id, kota_id, kelurahan_id = ids
    scenarios = [
        ("province: dashboard", lambda: manager.get("/dasbor")),
        ("province: dashboard of a kota", lambda: manager.get(f"/dasbor/kota/{kota_id}")),
        ("province: dashboard of a kelurahan", lambda: manager.get(f"/dasbor/kelurahan/{kelurahan_id}")),
        ("province: weekly report, screen", lambda: manager.get("/laporan/mingguan")),
        ("province: weekly report, PDF", lambda: manager.get("/laporan/mingguan.pdf")),
        ("province: weekly report, XLSX (4 sheets)", lambda: manager.get("/laporan/mingguan.xlsx")),
        ("kota manager: dashboard", lambda: kota.get("/dasbor")),
        ("kota manager: weekly report, screen", lambda: kota.get("/laporan/mingguan")),
        ("staff: dashboard of the kecamatan", lambda: staff.get("/dasbor")),
        ("staff: weekly report, screen", lambda: staff.get("/laporan/mingguan")),
        ("staff: action list (trained, not licensed)", lambda: staff.get(
            f"/peserta?kelurahan={kelurahan_id}&aksi=latih_belum_izin")),
    ]
    width = max(len(name) for name, _ in scenarios)
    for name, fn in scenarios:
        median, size = timed(fn)
        print(f"{name:<{width}}  {median:8.1f} ms  ({size // 1024} KB)")


if __name__ == "__main__":
    main()
