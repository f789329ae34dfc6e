# make run  — the whole portal on the embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL)
# make test — the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PORT ?= 8000
ROWS ?= 2000000

.PHONY: install run test lint format lock messages bench-startup clean-var

$(STAMP): requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 ou plus récent est requis." if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.lock
	touch $(STAMP)

install: $(STAMP)

run: install
	PORT=$(PORT) $(BIN)/python manage.py serve

test: install
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
