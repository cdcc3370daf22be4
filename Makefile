# The two commands of the README, `make run` and `make test`, and the steps they stand on.
# Everything is installed into .venv by the project itself; nothing is expected beforehand but
# Debian and Python 3.11+.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
NODE_STAMP := node_modules/.installed

.PHONY: run run-auth test lint typecheck check openapi build checkov deps node-tools clean lock bench

run: $(STAMP) deps
	$(BIN)/realm serve

# The Firebase Auth emulator as the identity provider (see docs/api/accounts.md): Node and
# firebase-tools, several seconds more to start, so not part of plain `make run`.
run-auth: $(STAMP) deps $(NODE_STAMP)
	$(BIN)/realm serve --auth-emulator

test: $(STAMP) deps $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check shared functions tests bench deploy

typecheck: $(STAMP)
	$(BIN)/mypy shared/realm functions tests bench deploy

check: lint typecheck test

# The whole comparison of DESIGN §10 and issue 13 (docs/benchmarks.md): every read function, the
# two hot writes, the hello-world floor and the FastAPI and Django yardsticks, at 1M invites,
# loaded by wrk (Debian's; installed when we are root). Takes ~10 minutes; never part of `make
# test`. The yardsticks' frameworks and py-spy come with the `bench` extra, added to .venv here
# (--inexact: the next plain sync takes them out again). BENCH_ARGS="--baseline main" also runs
# main's functions, interleaved; "--profile list-parties" adds py-spy's summary.
bench: $(STAMP) deps
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --extra dev --extra bench --inexact --python $(PYTHON) --quiet
	$(BIN)/python -m bench.compare $(BENCH_ARGS)

openapi: $(STAMP)
	$(BIN)/realm openapi

build: $(STAMP)
	$(BIN)/python -m deploy.build

checkov: $(STAMP)
	deploy/checkov.sh

# Python dependencies come from uv.lock, exactly (hashes checked), never from whatever resolves
# today: `uv sync --locked` refuses to run when pyproject.toml and uv.lock disagree (run
# `make lock` after changing a dependency). uv itself is pinned and lives in its own venv; it
# ignores pip's configuration, so a machine's local indexes cannot change what gets installed.
# Why uv: docs/decisions/0008-one-lock-file-uv.md.
$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@rm -rf $(UV_VENV); $(PYTHON) -m venv $(UV_VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(UV_VENV); \
	  else echo "python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }
	$(UV_VENV)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --extra dev --python $(PYTHON) --quiet
	@touch $(STAMP)

# Re-resolve uv.lock after a change to pyproject.toml's dependencies (the bot does the same).
lock: $(UV)
	$(UV) lock

# The Node tools (package.json): the client checks (tests/clients) and firebase-tools for the
# Auth emulator (make run-auth; its tests). Exactly package-lock.json, once per change of it
# (npm ci takes seconds; node_modules is reused by every run after). No install scripts run:
# none of these tools needs one. Without npm the tests that need them are skipped, loudly, at
# the end of the test run.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $(NODE_STAMP); \
	else echo "!!! npm is missing: the client checks and the Auth emulator tests will be SKIPPED"; fi

# PostgreSQL server binaries: installed from Debian when missing and we are root (CI, fresh
# machines); otherwise say what to install. The Java emulators are optional (see README).
deps:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
	  || [ -n "$$DATABASE_URL" ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing PostgreSQL from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "PostgreSQL is missing: sudo apt-get install postgresql (or set DATABASE_URL)"; exit 1; fi; }

node-tools: $(NODE_STAMP)

clean:
	rm -rf $(VENV) $(UV_VENV) .venv-checkov node_modules dist .pytest_cache .mypy_cache .ruff_cache
