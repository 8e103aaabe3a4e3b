# DevRooms: `make run` serves the app (local HarperDB included); `make test` runs every test;
# `make test-fast` only the unit tests (no live server, no browser).
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast setup browser nginx redis harperdb-stop lint superuser cluster cluster-stop

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

# Debian's nginx for the proxy tests (each test run starts its own, on a free port of
# 127.0.0.1). Where services may start on install (no policy-rc.d), Debian also starts its
# default site on port 80: `systemctl disable --now nginx` if that is not wanted.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

# Debian's redis-server for the tests of several processes (each test run starts its own on a
# free port of 127.0.0.1, unless REDIS_URL is set).
redis:
	@command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

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

test: setup browser nginx redis lint
	$(BIN)/python -m pytest

# The edit-test loop: the apps' unit tests, without tests/ (the app under a live Daphne, and
# tests/browser/ in Chromium). A new app's tests go here and in pyproject.toml's testpaths.
UNIT_TESTS := chatsite rooms messaging realtime
test-fast: setup
	$(BIN)/python -m pytest $(UNIT_TESTS)

harperdb-stop: setup
	$(BIN)/python manage.py harperdb stop

# The production run on this machine (README "Production run"): N Daphne processes, debug
# off, on 127.0.0.1:FIRST_PORT and up, in the foreground; `make cluster-stop` from another
# shell. More than one needs REDIS_URL, through which they share rooms (README.md).
N ?= 1
FIRST_PORT ?= 8001
cluster: setup
	$(BIN)/python -m chatsite.local_env
	$(BIN)/python -m deploy.cluster start --processes $(N) --first-port $(FIRST_PORT)

cluster-stop: setup
	$(BIN)/python -m deploy.cluster stop

# ruff's rules and formatting (pyproject.toml); part of `make test`.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
