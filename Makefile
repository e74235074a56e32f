# Consent Portal: `make run` serves the demo on embedded defaults, `make test` runs the suite
# on real PostgreSQL and Redis. Both create and fill their own virtual environment.

VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# Two pytest-xdist workers, one per core, each on its own PostgreSQL and Redis database
# (tests/workers.py); TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test lint format bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

# `make run PORT=8040` (and HOST=...) serves elsewhere; links in emails follow unless
# PORTAL_BASE_URL is set. Quiet on purpose: migrations, runserver's and Celery's banners and
# the access log are not printed; each email is one line; warnings and errors still are.
# Ctrl-C stops the server, then the worker is asked once to stop and waited for (`set -m`
# starts it in its own process group, so Ctrl-C does not hit its pool processes directly).
PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
RUN_ENV = DJANGO_DEBUG=1 PORTAL_BASE_URL='$(PORTAL_BASE_URL)'

run: $(VENV)/.installed-run
	@echo "Migrating the database and seeding the demo data..."
	@$(RUN_ENV) $(PY) manage.py migrate --noinput --verbosity 0
	@$(RUN_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "  Consent Portal: http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password: portal-demo):"
	@echo "    employee@demo.test  manager@demo.test  hr@demo.test  admin@demo.test"
	@echo "  Emails are not sent: one line each below; read them at $(PORTAL_BASE_URL)/notifications/"
	@echo "  Replay the demo: DJANGO_DEBUG=1 $(PY) manage.py seed_demo --reset"
	@echo "  Health: http://$(HOST):$(PORT)/healthz   Stop: Ctrl-C"
	@echo ""
	@$(RUN_ENV) bash -c 'set -m; \
		$(VENV)/bin/celery -A portal --quiet worker -B --concurrency 2 --loglevel warning & \
		set +m; trap "kill -TERM $$! 2>/dev/null; wait" EXIT; trap "exit 130" INT TERM HUP; \
		$(PY) manage.py runserver $(HOST):$(PORT) --noreload >/dev/null'

# The single sign-on tests sign in through a real OpenID Connect provider (panva's oidc-provider,
# pinned in tests/sso/provider/package-lock.json), installed from the npm registry.
SSO_PROVIDER := tests/sso/provider
$(SSO_PROVIDER)/node_modules/.package-lock.json: $(SSO_PROVIDER)/package-lock.json
	npm ci --prefix $(SSO_PROVIDER) --no-audit --no-fund --loglevel error

test: $(VENV)/.installed-test $(SSO_PROVIDER)/node_modules/.package-lock.json
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) tests/check_services.py
	DJANGO_DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(PY) -m pytest -p tests.workers -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Speed and memory at 10,000 and 100,000 employees, as ratios to floors measured in the same
# run (README, "Benchmarks"). QUICK=1: the 10,000 size only; PROFILE=1: also write pyinstrument
# profiles of the services to var/bench-profiles/. Not part of `make test`.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/5
QUICK ?=
PROFILE ?=

bench: $(VENV)/.installed-run
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(if $(PROFILE),$(VENV)/bin/pip install --quiet -e '.[bench]',)
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
		$(PY) -m bench $(if $(QUICK),--quick,) $(if $(PROFILE),--profile,)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/ .hypothesis/ tests/screenshots/
