# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# DEBUG is off by default, and then the app needs a SECRET_KEY of its own: unless one is set,
# one is generated for this checkout on first use and kept in data/secret_key (not committed).
KEY_FILE := data/secret_key
SECRET_KEY ?= $(shell [ -s $(KEY_FILE) ] || { mkdir -p data && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(KEY_FILE); }; cat $(KEY_FILE))
export SECRET_KEY
# `make run` serves plain HTTP on 127.0.0.1; behind TLS, set HTTPS=1 (README, "Deploy").
HTTPS ?= 0
export HTTPS

.PHONY: run web worker test lint format bench vendor migrate seed static install clean

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

# Hashed, compressed copies of the static files, which WhiteNoise serves (build/static).
static: $(STAMP)
	$(PY) manage.py collectstatic --noinput -v 0

# Web server and worker cluster together in the foreground; Ctrl-C stops both.
run: seed static
	$(PY) -m crm.supervisor --host $(HOST) --port $(PORT)

web: migrate static
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

bench: $(DEV_STAMP) static
	$(PY) -m bench $(BENCH_ARGS)

# Copies front-end packages from npm into static/vendor (committed; run after a version bump).
vendor:
	bash scripts/vendor.sh

clean:
	rm -rf $(VENV) build
