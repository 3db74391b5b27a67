# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test setup install install-test lock clean screenshots

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

# Recompile the pinned dependency files after editing requirements.in or requirements-test.in.
lock:
	@test -x $(VENV)/lock/bin/pip-compile || { $(PYTHON) -m venv $(VENV)/lock && $(VENV)/lock/bin/pip install --quiet pip-tools; }
	$(VENV)/lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements.txt requirements.in
	$(VENV)/lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements-test.txt requirements-test.in

clean:
	rm -rf $(VENV) .pytest_cache
