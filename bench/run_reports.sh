#!/usr/bin/env bash
# Build 1,000,000-participant databases (SQLite and PostgreSQL) with `flask demo-data` and time
# the dashboard and the weekly report on both: bench/run_reports.sh [N]
# PostgreSQL: a database `okoce_bench` on 127.0.0.1:5432 (user postgres) is dropped and recreated.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/okoce_bench

bench/build_db.sh "$N"
.venv/bin/python bench/bench_reports.py

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS okoce_bench WITH (FORCE)" postgres
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE okoce_bench" postgres
bench/build_db.sh "$N" "$PG_URL"
psql -h 127.0.0.1 -U postgres -qc "VACUUM ANALYZE" okoce_bench
.venv/bin/python bench/bench_reports.py "$PG_URL"
