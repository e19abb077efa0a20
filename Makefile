# kodoku-portal: `make run` (serve the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format messages serve-prep clean bench screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

messages: install
	$(PY) manage.py compile_catalogues

# Embedded run: SQLite, Celery tasks in-process, e-mail to the console, demo data loaded.
run: install messages
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 PORT=$(PORT) $(PY) manage.py seed_demo
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	DJANGO_DEBUG=1 PORT=$(PORT) $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite. With DATABASE_URL and REDIS_URL set it runs against those services.
test: install messages
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

# The deadline rush over HTTP (bench/http_rush.py; not part of `make test`): gunicorn with the
# Dockerfile's workers, PostgreSQL and Redis. Needs DATABASE_URL=postgres://… and REDIS_URL.
# Short default: 20 clients for 36 s; 50 clients: `make bench BENCH_ARGS="--clients 50"`.
BENCH_ARGS ?= --clients 20 --seconds 36
bench: install messages
	$(PY) bench/http_rush.py $(BENCH_ARGS)

# PNGs of each demo role's main pages at 1280 and 390 px into docs/screenshots/ (README shows
# them): a throwaway SQLite database with the demo data, the server on SHOTS_PORT, Debian's
# Chromium through Playwright (grants/management/commands/screenshots.py).
SHOTS_PORT ?= 8790
SHOTS_VAR := $(CURDIR)/var/screenshots
SHOTS_ENV := DJANGO_DEBUG=1 PORT=$(SHOTS_PORT) REDIS_URL= DATABASE_URL=sqlite:///$(SHOTS_VAR)/db.sqlite3 DJANGO_PRIVATE_ROOT=$(SHOTS_VAR)/private
screenshots: install messages
	rm -rf $(SHOTS_VAR) && mkdir -p $(SHOTS_VAR)
	$(SHOTS_ENV) $(PY) manage.py migrate --noinput
	$(SHOTS_ENV) $(PY) manage.py seed_demo --quiet-accounts
	$(SHOTS_ENV) $(PY) manage.py screenshots --port $(SHOTS_PORT)
	rm -rf $(SHOTS_VAR)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles
