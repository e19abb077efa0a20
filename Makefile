# kodoku-portal: `make run` (serve the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format messages serve-prep clean bench

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

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles
