"""Time the participant screens on a large database (built by bench/build_db.sh).

Usage: .venv/bin/python bench/bench_participants.py [DATABASE_URL]
Runs every request through the real app (login, scope, templates) with Flask's test client and
prints the median of 5 runs per scenario, in milliseconds.
"""
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

URL = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(__file__).parent / 'bench.sqlite'}"
PASSWORD = "demo-okoce-2026"
RUNS = 5


def login(client, username):
    html = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/masuk", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, f"cannot log in as {username}"
    return re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def timed(fn):
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = fn()
        body = response.get_data()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (response.status_code, body[:300])
    return statistics.median(samples), len(body)


def main():
    os.environ.setdefault("APP_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "RATELIMIT_ENABLED": False})
    with app.app_context():
        total = db.session.execute(db.text("SELECT count(*) FROM participant")).scalar()
        sample = db.session.execute(db.text(
            "SELECT nik, phone FROM participant WHERE kecamatan_id = (SELECT id FROM kecamatan WHERE code='31.74.01') "
            "AND phone IS NOT NULL LIMIT 1")).one()
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]} · participants: {total:,}")
    scenarios = []
    staff = app.test_client()
    token = login(staff, "tebet.petugas")
    scenarios += [
        ("staff: list, default sort", lambda: staff.get("/peserta")),
        ("staff: list page 200", lambda: staff.get("/peserta?hal=200")),
        ("staff: search name 'siti'", lambda: staff.get("/peserta?q=siti", headers={"HX-Request": "true"})),
        ("staff: search NIK (exact)", lambda: staff.get(f"/peserta?q={sample.nik}", headers={"HX-Request": "true"})),
        ("staff: search phone prefix", lambda: staff.get(f"/peserta?q=0{sample.phone[3:10]}", headers={"HX-Request": "true"})),
        ("staff: filter step P1 + active + sort by name", lambda: staff.get("/peserta?step=1&status=active&urut=nama")),
        ("staff: NIK check while typing", lambda: staff.post("/peserta/cek-nik", data={"nik": sample.nik},
                                                              headers={"HX-Request": "true", "X-CSRFToken": token})),
        ("staff: online queue", lambda: staff.get("/peserta/antrean")),
    ]
    manager = app.test_client()
    login(manager, "demo.dinas")
    scenarios += [
        ("province manager: list, default sort", lambda: manager.get("/peserta")),
        ("province manager: search 'budi santoso'", lambda: manager.get("/peserta?q=budi+santoso",
                                                                          headers={"HX-Request": "true"})),
        ("province manager: filter P1, one kelurahan", lambda: manager.get("/peserta?step=1&kelurahan=100")),
    ]
    kota = app.test_client()
    login(kota, "demo.sudin.jaksel")
    scenarios.append(("kota manager: list, default sort", lambda: kota.get("/peserta")))
    width = max(len(name) for name, _ in scenarios)
    for name, fn in scenarios:
        median, size = timed(fn)
        print(f"{name:<{width}}  {median:8.1f} ms  ({size // 1024} KB)")
    start = time.perf_counter()
    response = staff.get("/peserta/ekspor.csv")
    lines = response.get_data().count(b"\n")
    print(f"{'staff: export CSV of the kecamatan':<{width}}  {(time.perf_counter() - start) * 1000:8.1f} ms  ({lines:,} rows)")


if __name__ == "__main__":
    main()
