#!/usr/bin/env bash
# Build a benchmark database with N synthetic participants: bench/build_db.sh [N] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
export DATABASE_URL=${2:-sqlite:///$(pwd)/bench/bench.sqlite}
export FLASK_APP=wsgi.py
if [[ $DATABASE_URL == sqlite* ]]; then rm -f "${DATABASE_URL#sqlite:///}"*; fi
.venv/bin/flask db upgrade
.venv/bin/flask regions load
.venv/bin/flask demo-data --participants "$N"
