#!/usr/bin/env bash
# Migration step of a deploy: `realm migrate` against Cloud SQL through the Cloud SQL Python
# Connector, as the deployer's IAM identity, then the functions' grants. See deploy/migrate.py.
#
#   deploy/migrate.sh                 # migrate + grants (CD runs it before and after apply)
#   deploy/migrate.sh --grants-only
#   deploy/migrate.sh bootstrap       # once, for a new instance (docs/operations.md, bootstrap)
#
# Needs: the project installed in the Python environment (PYTHON, default .venv/bin/python),
# Application Default Credentials of the deployer, and `terraform init` done in terraform/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" -m deploy.migrate "$@"
