"""The benchmark in small (issue 17): ``bench/build.py`` builds a database of a few thousand
participants, and the app is served by real gunicorn with several workers while the load driver
(``bench/load.py``) sends every one of its operations a few times, from several logged-in clients at
once, and a short open-loop busy hour. Asserted: the built database is what the app's own triggers
would have made (its tally check and search agree), and every operation answered correctly (status
and content, checked by the driver). No timings are asserted.

Runs on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set (in a database of its own next to
the test database, since the builder replaces the whole schema).
"""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import build  # noqa: E402
import load  # noqa: E402

PARTICIPANTS = 5000
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DATABASES)
def bench_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bench.sqlite'}"
        return
    import psycopg

    base = os.environ["TEST_DATABASE_URL"]
    server, name = base.rsplit("/", 1)
    bench_name = f"{name}_bench"
    admin = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {bench_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {bench_name}")
    url = f"{server}/{bench_name}"
    yield url
    build._key_file(url).unlink(missing_ok=True)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {bench_name} WITH (FORCE)")


def test_builder_makes_what_the_triggers_would_and_every_operation_answers(bench_database, tmp_path):
    summary = build.build(PARTICIPANTS, bench_database, force=True, verify=True, log=lambda *a: None)
    rows = summary["rows"]
    assert rows["participant"] == PARTICIPANTS
    for table in ("participant_step", "enrollment", "attendance", "certificate", "visit", "license", "sku_letter",
                  "signup", "event", "financial_report", "capital_application", "course", "meeting"):
        assert rows[table] > 0, table
    # the app's own checks, run by --verify: tallies equal a recount, the search index a plain scan
    assert summary["verified"]["tallies"] == "agree"
    assert summary["verified"]["steps backed by their records"] == "all"

    fixtures = load.load_fixtures(bench_database, per_kecamatan=30)
    assert len(fixtures.rosters) == 88 and all(0 < len(e) <= 100 for _m, e in fixtures.rosters.values())
    app = load.Server("wsgi:app", bench_database, tmp_path / "gunicorn.log", workers=3)
    try:
        ops = load.Ops(fixtures)
        clients = load.Clients(app.port, fixtures)
        for name, concurrency in load.SATURATION:
            if name == "floor":
                continue
            figures = load.closed_loop(getattr(ops, name), clients.get(load.Ops.ROLE[name], min(concurrency, 3)),
                                       seconds=30, max_requests=4)
            assert figures["errors"] == 0, (name, figures["error_samples"])
            assert figures["ok"] >= 3, (name, figures)
        busy = load.open_loop(load.busy_hour_schedule(ops, clients, seconds=3, scale=0.1))
        for name in ("nik_check", "tap", "dashboard"):
            assert busy[name]["ok"] > 0, name
        assert all(f["errors"] == 0 for n, f in busy.items() if not n.startswith("_")), busy
        assert app.errors() == []
    finally:
        app.stop()
    floor = load.Server("bench.floor:app", bench_database, tmp_path / "floor.log", workers=2)
    try:
        figures = load.closed_loop(load.Ops(fixtures).floor, load.Clients(floor.port, fixtures).get("anonymous", 2),
                                   seconds=10, max_requests=10)
        assert (figures["ok"], figures["errors"]) == (10, 0)
    finally:
        floor.stop()
