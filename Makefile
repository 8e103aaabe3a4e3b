# DevRooms: `make run` serves the app (local HarperDB included); `make test` runs every test;
# `make test-fast` only the unit tests (no live server, no browser).
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast setup browser harperdb-stop lint superuser

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	# `npm ci` trips over the optional platform packages in harperdb's shrinkwrap; with an
	# unchanged lock file `npm install` installs exactly the locked versions.
	npm install --ignore-scripts --no-audit --no-fund
	touch $@

setup: $(BIN)/.installed node_modules/.installed

# Debian's Chromium for the browser tests (`playwright install` cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Local use: debug on unless DJANGO_DEBUG is set in the environment.
run harperdb-stop: export DJANGO_DEBUG := $(or $(DJANGO_DEBUG),true)
run: setup
	$(BIN)/python -m chatsite.local_env
	$(BIN)/python manage.py harperdb start
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py harperdb setup
	@echo "DevRooms: http://127.0.0.1:$(PORT)/ . Admin account: make superuser"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# An admin account. The local .env (debug on, a generated secret key; written by the first
# `make run` or here) lets `manage.py createsuperuser` and every other command run as typed.
superuser: setup
	$(BIN)/python -m chatsite.local_env
	$(BIN)/python manage.py createsuperuser

test: setup browser lint
	$(BIN)/python -m pytest

# The edit-test loop: the apps' unit tests, without tests/ (the app under a live Daphne, and
# tests/browser/ in Chromium). A new app's tests go here and in pyproject.toml's testpaths.
UNIT_TESTS := chatsite rooms messaging realtime
test-fast: setup
	$(BIN)/python -m pytest $(UNIT_TESTS)

harperdb-stop: setup
	$(BIN)/python manage.py harperdb stop

# ruff's rules and formatting (pyproject.toml); part of `make test`.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
