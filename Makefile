# The two commands of the README, `make run` and `make test`, and the steps they stand on.
# Everything is installed into .venv by the project itself; nothing is expected beforehand but
# Debian and Python 3.11+.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run run-auth test lint typecheck check openapi build checkov deps node-tools clean

run: $(STAMP) deps
	$(BIN)/realm serve

# The Firebase Auth emulator as the identity provider (see docs/api/accounts.md): Node and
# firebase-tools, several seconds more to start, so not part of plain `make run`.
run-auth: $(STAMP) deps node-tools
	$(BIN)/realm serve --auth-emulator

test: $(STAMP) deps node-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check shared functions tests bench deploy

typecheck: $(STAMP)
	$(BIN)/mypy shared/realm functions tests bench deploy

check: lint typecheck test

openapi: $(STAMP)
	$(BIN)/realm openapi

build: $(STAMP)
	$(BIN)/python -m deploy.build

checkov: $(STAMP)
	deploy/checkov.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# PostgreSQL server binaries: installed from Debian when missing and we are root (CI, fresh
# machines); otherwise say what to install. The Java emulators are optional (see README).
deps:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
	  || [ -n "$$DATABASE_URL" ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing PostgreSQL from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "PostgreSQL is missing: sudo apt-get install postgresql (or set DATABASE_URL)"; exit 1; fi; }

# The Node tools of the local stack (firebase-tools, for the Auth emulator), exactly as
# package-lock.json pins them. Without npm this says so and goes on: the tests that need them
# are skipped, loudly.
node-tools:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(NODE_STAMP); \
	  else echo "npm not found: the Firebase Auth emulator tests will be skipped (apt-get install npm)"; fi

$(NODE_STAMP): package.json package-lock.json
	npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) .venv-checkov dist .pytest_cache .mypy_cache .ruff_cache node_modules
