# Doorstep 家门口派出所 — `make demo` starts the platform, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/doorstep
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n auto

.DEFAULT_GOAL := help
.PHONY: help demo run docs seed-district test test-sqlite test-postgres lint format messages vendor-check clean system-deps bench bench-registry-import bench-alarm bench-video bench-evaluation bench-portal

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) ## Migrate, seed the demo district (idempotent) and serve at http://127.0.0.1:8000
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed --scale demo
	DOORSTEP_VIDEO_DEMO_SPEAKER_PORT=8091 $(PY) manage.py run --host $(HOST) --port $(PORT)

run: $(STAMP) ## Serve without seeding
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py run --host $(HOST) --port $(PORT)

docs: $(STAMP) system-deps ## User guides: a fresh demo district, every screenshot retaken in Chromium, HTML site + PDFs in var/docs/
	$(PY) -m doorstep.manual all --out var/docs

seed-district: $(STAMP) ## Seed the Fengze-sized district into a separate database (var/district/)
	DOORSTEP_VAR_DIR=var/district $(PY) manage.py migrate --noinput -v0
	DOORSTEP_VAR_DIR=var/district $(PY) manage.py seed --scale district

system-deps: ## Install what the browser tests need from Debian (Chromium, CJK fonts), if missing
	@scripts/ensure-system-deps

test: $(STAMP) system-deps ## Run the whole suite on SQLite, then on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL -u REDIS_URL DOORSTEP_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== test suite on PostgreSQL ($(PG_URL)) =="
	@if scripts/service-up postgres; then \
		DATABASE_URL=$(PG_URL) DOORSTEP_ENV=test $(PY) -m pytest -m "not browser" $(PYTEST_ARGS); \
	elif [ -n "$$DOORSTEP_REQUIRE_SERVICES" ]; then \
		echo "PostgreSQL is required (DOORSTEP_REQUIRE_SERVICES) but not reachable at 127.0.0.1:5432" >&2; exit 1; \
	else \
		echo "!!!!!!!! PostgreSQL NOT REACHABLE at 127.0.0.1:5432 — the PostgreSQL pass is SKIPPED !!!!!!!!" >&2; \
	fi

lint: $(STAMP) ## ruff format --check, ruff check, migrations and Django checks
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

format: $(STAMP) ## Apply ruff formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(STAMP) ## Extract and compile translations (needs gettext)
	cd doorstep && ../$(PY) ../manage.py makemessages -l en --no-obsolete && ../$(PY) ../manage.py compilemessages -l en

bench: $(STAMP) ## Run the benchmarks under bench/
	$(PY) bench/run.py

bench-registry-import: $(STAMP) ## Import 600,000 persons (var/bench-import/; DATABASE_URL for PostgreSQL), then re-colour all
	$(PY) bench/registry_import.py
	$(PY) bench/registry_recolour.py

ALARM_BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/doorstep_bench_alarm
ALARM_BENCH_ARGS ?=
bench-alarm: $(STAMP) ## Alarm latency device → console per protocol + floor + max rate, SQLite then PostgreSQL (~25 min)
	@scripts/service-up mosquitto || { echo "Mosquitto is not reachable at 127.0.0.1:1883" >&2; exit 1; }
	$(PY) bench/alarm_latency.py $(ALARM_BENCH_ARGS)
	@if scripts/service-up postgres; then \
		$(PY) bench/alarm_latency.py --database-url $(ALARM_BENCH_PG_URL) $(ALARM_BENCH_ARGS); \
	else \
		echo "!!!!!!!! PostgreSQL NOT REACHABLE at 127.0.0.1:5432 — the PostgreSQL run is SKIPPED !!!!!!!!" >&2; \
	fi

VIDEO_BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/doorstep_bench_video
VIDEO_BENCH_ARGS ?=
bench-video: $(STAMP) ## Video latency object in a zone → patrol console's WebSocket, SQLite then PostgreSQL (~6 min)
	$(PY) bench/video_latency.py $(VIDEO_BENCH_ARGS)
	@if scripts/service-up postgres; then \
		$(PY) bench/video_latency.py --database-url $(VIDEO_BENCH_PG_URL) $(VIDEO_BENCH_ARGS); \
	else \
		echo "!!!!!!!! PostgreSQL NOT REACHABLE at 127.0.0.1:5432 — the PostgreSQL run is SKIPPED !!!!!!!!" >&2; \
	fi

bench-evaluation: $(STAMP) ## All KPIs × all scopes for a month + KPI dashboard p50/p95 (var/district from `make seed-district`; DATABASE_URL for PostgreSQL)
	$(PY) bench/evaluation_kpis.py --scale district
	$(PY) bench/evaluation_dashboard.py --scale district
	$(PY) bench/evaluation_dashboard.py --scale district --cache-seconds 60

PORTAL_BENCH_PORT ?= 8097
PORTAL_BENCH_WORKERS ?= 1
PORTAL_BENCH_ENV := DOORSTEP_VAR_DIR=var/bench-portal DOORSTEP_ALARMD=false DOORSTEP_VIDEOD=false DOORSTEP_TRUSTED_PROXIES=127.0.0.1
# One process is the embedded server (`manage.py run`); PORTAL_BENCH_WORKERS=N>1 runs N uvicorn worker processes.
ifeq ($(PORTAL_BENCH_WORKERS),1)
PORTAL_BENCH_SERVER := $(PY) manage.py run --port $(PORTAL_BENCH_PORT)
else
PORTAL_BENCH_SERVER := $(PY) -m uvicorn doorstep.asgi:application --port $(PORTAL_BENCH_PORT) --workers $(PORTAL_BENCH_WORKERS) --lifespan off --no-access-log
endif

bench-portal: $(STAMP) ## Portal load: officer cards + tip-form POSTs, 200 req/s for 60 s on loopback (var/bench-portal, demo seed)
	$(PORTAL_BENCH_ENV) $(PY) manage.py migrate --noinput -v0
	$(PORTAL_BENCH_ENV) $(PY) manage.py seed --scale demo
	@$(PORTAL_BENCH_ENV) $(PORTAL_BENCH_SERVER) > var/bench-portal/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	for i in $$(seq 150); do curl -fsS -o /dev/null http://127.0.0.1:$(PORTAL_BENCH_PORT)/portal/ 2>/dev/null && break; sleep 0.2; done; \
	$(PORTAL_BENCH_ENV) $(PY) bench/portal_load.py --base http://127.0.0.1:$(PORTAL_BENCH_PORT) $(PORTAL_BENCH_ARGS)

clean: ## Remove the local database, screenshots and caches (keeps .venv)
	rm -rf var/ .ruff_cache
