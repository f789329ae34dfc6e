# make run  — the whole portal on the embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL)
# make test — the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PORT ?= 8000
ROWS ?= 2000000
QUERIES ?= 1000

.PHONY: install system-deps run test lint format lock messages bench-startup bench-search bench-load clean-var

# Debian packages the tests need (package:command): translations, the browser, speech; and the
# load generator of make bench-load.
SYSTEM_PACKAGES := gettext:msgfmt chromium:chromium espeak-ng:espeak-ng
BENCH_PACKAGES := wrk:wrk

$(STAMP): requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 ou plus récent est requis." if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.lock
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=""; for pair in $(or $(PACKAGES),$(SYSTEM_PACKAGES)); do \
	  command -v "$${pair##*:}" >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installation de :$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Installez d'abord :$$missing (sudo apt-get install$$missing)"; exit 1; fi; fi

run: install
	PORT=$(PORT) $(BIN)/python manage.py serve

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the locks after editing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes -o requirements/base.lock
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -o requirements/dev.lock

messages: install
	$(BIN)/python manage.py makemessages -l en --ignore=.venv --ignore=var --ignore=staticfiles
	$(BIN)/python manage.py compilemessages -l en --ignore=.venv

# Removes the embedded servers' data (stop make run first).
clean-var:
	rm -rf var

bench-startup:
	bench/startup.sh

# Imports a synthetic register of ROWS establishments into its own database, then times the search.
bench-search: install
	ROWS=$(ROWS) QUERIES=$(QUERIES) $(BIN)/python bench/search.py

# gunicorn (2 workers) and a Celery worker on the real stack, driven by wrk from a second process.
bench-load: install
	@$(MAKE) --no-print-directory system-deps PACKAGES="$(BENCH_PACKAGES)"
	SECONDS_PER_ENDPOINT=$(SECONDS_PER_ENDPOINT) CLIENTS=$(CLIENTS) $(BIN)/python bench/load.py $(if $(ONLY),--only $(ONLY))
