# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test setup install install-test lock clean screenshots bench

PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes

# Run-time dependencies (requirements.txt); the test suite adds requirements-test.txt. Both are
# compiled with exact versions and hashes from the *.in files by `make lock`.
$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) -r requirements.txt -r requirements-test.txt
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

setup: install
	@mkdir -p instance && chmod 700 instance
	$(BIN)/flask db upgrade
	$(BIN)/flask regions load
	$(BIN)/flask users ensure-admin

# The web server and the worker together (scripts/serve.py); Ctrl-C stops both.
run: setup
	$(BIN)/python scripts/serve.py --host 127.0.0.1 --port 5000

test: setup install-test
	$(BIN)/python -m pytest

# PNGs of the main screens at 1366x768 and 375x812 in screenshots/ (demo data in a temporary database).
screenshots: setup install-test
	$(BIN)/python scripts/screenshots.py

# The benchmark (not part of `make test`): builds (or reuses) databases of BENCH_SIZES participants
# (SQLite in bench/data/, or PostgreSQL when DATABASE_URL is set), serves the app under gunicorn with
# gunicorn.conf.py next to a bare Flask route, drives both with concurrent clients and writes the
# figures to bench/results/ (see bench/README.md). The largest size gets the full run and the busy hour.
BENCH_SIZES ?= 10000,100000,1000000
BENCH_DURATION ?= 20
BENCH_GROWTH_DURATION ?= 8
BENCH_BUSY ?= 120
bench: install
	$(BIN)/python bench/load.py --sizes $(BENCH_SIZES) --duration $(BENCH_DURATION) \
		--growth-duration $(BENCH_GROWTH_DURATION) --busy-duration $(BENCH_BUSY) $(BENCH_ARGS)

# Recompile the pinned dependency files after editing requirements.in or requirements-test.in.
lock:
	@test -x $(VENV)/lock/bin/pip-compile || { $(PYTHON) -m venv $(VENV)/lock && $(VENV)/lock/bin/pip install --quiet pip-tools; }
	$(VENV)/lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements.txt requirements.in
	$(VENV)/lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements-test.txt requirements-test.in

clean:
	rm -rf $(VENV) .pytest_cache
