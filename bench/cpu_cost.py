"""CPU per request, one request at a time, in process: ``python bench/cpu_cost.py [-n N]``.

On a shared machine the wall-clock latencies of the load runs grow with everybody else's load;
the CPU time a request costs the process that serves it does not (much). For each operation of
bench/load.py this runs the app in process (Flask's test client, the built database of N
participants, the same users) and reports the median over 5 requests of the process CPU time and
of the time spent executing SQL statements (wall; rows fetched afterwards are not counted) — after
one warm-up request. PostgreSQL's own CPU is not in the
process figure (its share is in the SQL column).
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402
import load  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--participants", "-n", type=int, default=1_000_000)
    p.add_argument("--database-url", default=None)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    url = build.sized_url(args.database_url or os.environ.get("DATABASE_URL"), args.participants)
    key = build._key_file(url)
    if not key.exists():
        raise SystemExit(f"no build for {url}: run bench/build.py first")
    f = load.load_fixtures(url, per_kecamatan=20)
    sys.path.insert(0, str(build.ROOT))
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "cpu-cost", "WTF_CSRF_ENABLED": False})
    sql = [0.0]
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(conn, *_a):
            conn.info["t0"] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(conn, *_a):
            sql[0] += time.perf_counter() - conn.info["t0"]

    def client(username):
        c = app.test_client()
        answer = c.post("/masuk", data={"username": username, "password": build.BENCH_PASSWORD, "next": ""})
        assert answer.status_code == 302, (username, answer.status_code)
        return c

    kec = f.kecamatan[19][0]
    staff = client(f.staff[kec])
    facilitator_name = sorted(f.rosters)[0]
    facilitator = client(facilitator_name)
    meeting, enrollments = f.rosters[facilitator_name]
    dinas = client("bench.dinas")
    pid, nik, name, _reg = f.participants[kec][0]
    hx = {"HX-Request": "true"}
    taps = iter(range(10 ** 6))
    ops = {
        "healthz": lambda: staff.get("/healthz"),
        "nik_check": lambda: staff.post("/peserta/cek-nik", data={"nik": nik}, headers=hx),
        "search_name": lambda: staff.get(f"/peserta?q={name}", headers=hx),
        "search_nik": lambda: staff.get(f"/peserta?q={nik}", headers=hx),
        "participant_page": lambda: staff.get(f"/peserta/{pid}"),
        "roster": lambda: facilitator.get(f"/pertemuan/{meeting}"),
        "tap": lambda: facilitator.post(f"/pertemuan/{meeting}/tandai/{enrollments[next(taps) % len(enrollments)]}",
                                        data={"status": "hadir"}, headers=hx),
        "dashboard_province": lambda: dinas.get("/dasbor"),
        "dashboard_kota": lambda: dinas.get(f"/dasbor/kota/{f.kota[2]}"),
        "dashboard_kelurahan": lambda: dinas.get(f"/dasbor/kelurahan/{f.kelurahan_ids[100]}"),
        "weekly_screen": lambda: dinas.get("/laporan/mingguan"),
        "weekly_xlsx": lambda: dinas.get("/laporan/mingguan.xlsx"),
        "weekly_pdf": lambda: dinas.get("/laporan/mingguan.pdf"),
        "online_queue": lambda: staff.get("/peserta/antrean"),
        "export_csv": lambda: staff.get("/peserta/ekspor.csv", buffered=True),
    }
    out = {}
    for name_, fn in ops.items():
        fn()  # warm-up
        cpu, sqls = [], []
        for _ in range(args.repeat):
            sql[0] = 0.0
            c0 = time.process_time()
            answer = fn()
            cpu.append(time.process_time() - c0)
            sqls.append(sql[0])
            assert answer.status_code == 200, (name_, answer.status_code)
        out[name_] = {"cpu_ms": round(statistics.median(cpu) * 1000, 1),
                      "sql_ms": round(statistics.median(sqls) * 1000, 1)}
        print(f"{name_:22} CPU {out[name_]['cpu_ms']:8.1f} ms   SQL {out[name_]['sql_ms']:8.1f} ms", flush=True)
    dbname = "sqlite" if url.startswith("sqlite") else "postgresql"
    load.RESULTS.mkdir(parents=True, exist_ok=True)
    (load.RESULTS / f"cpu-{dbname}-{args.participants}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
