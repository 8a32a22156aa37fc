# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run web worker test lint format bench vendor migrate seed install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP) $@

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web server and worker cluster together in the foreground; Ctrl-C stops both.
run: seed
	$(PY) -m crm.supervisor --host $(HOST) --port $(PORT)

web: migrate
	$(PY) -m daphne -b $(HOST) -p $(PORT) crm.asgi:application

worker: migrate
	$(PY) manage.py qcluster

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(DEV_STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(DEV_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# Copies front-end packages from npm into static/vendor (committed; run after a version bump).
vendor:
	bash scripts/vendor.sh

clean:
	rm -rf $(VENV) build
