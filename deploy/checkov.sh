#!/usr/bin/env bash
# Runs checkov over terraform/ from its own virtual environment (.venv-checkov: checkov is large
# and its pins clash with the app's), creating it on first use. Offline: --skip-download keeps
# checkov from calling its vendor's API. Extra arguments go to checkov.
#
#   deploy/checkov.sh                 # human-readable report
#   deploy/checkov.sh -o json         # what tests/infra reads
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
VENV="${CHECKOV_VENV:-.venv-checkov}"
if [ ! -x "$VENV/bin/checkov" ] || ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
  echo "creating $VENV with checkov==$CHECKOV_VERSION" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
fi
exec "$VENV/bin/checkov" --directory terraform --framework terraform --skip-download "$@"
