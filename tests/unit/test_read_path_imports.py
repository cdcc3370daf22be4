"""A read function imports no cloud client and no image library (DESIGN §10: they would be
imported, and paid for, on every cold start of the functions that need them least).

The modules an import loads are checked, not its time: times belong to bench/compare.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ_FUNCTIONS = ("list_parties", "me", "get_party", "list_guests", "find_users")
FORBIDDEN = ("google.cloud.pubsub", "google.cloud.storage", "google.cloud.firestore", "PIL")


def _last_line_printed(function: str, code: str) -> str:
    """What ``code`` prints last, run in a fresh interpreter that imports ``function`` as the
    runtime does (its folder on the path)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "functions" / function)},
    )
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize("function", READ_FUNCTIONS)
def test_a_read_function_loads_no_cloud_client_nor_pil(function: str) -> None:
    code = (
        "import json, sys; import functions_framework; import main; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    loaded = json.loads(_last_line_printed(function, code))
    found = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert not found, f"{function} imports {found}"


@pytest.mark.parametrize("function", READ_FUNCTIONS)
def test_loading_a_read_function_and_its_first_answer_run_no_full_garbage_collection(
    function: str,
) -> None:
    # A full collection traverses every object the imports made, ~20 ms of a cold start;
    # realm's package freezes what exists when it is first imported so that none falls due
    # during the load or the first request (here one refused for want of a token).
    source = str(ROOT / "functions" / function / "main.py")
    code = (
        "import gc; import functions_framework; full = []; "
        "gc.callbacks.append(lambda phase, info: full.append(1) "
        "if phase == 'start' and info['generation'] == 2 else None); "
        f"app = functions_framework.create_app({function!r}, {source!r}); "
        "print(app.test_client().get('/').status_code, len(full))"
    )
    assert _last_line_printed(function, code) == "401 0", f"{function}: a full collection ran"
