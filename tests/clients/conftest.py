"""The client checks need the pinned Node tools of package.json, installed by `make test`
(npm ci into node_modules). Where Node or the tools are missing they are skipped, loudly: each
skip is listed with its reason at the end of the run, as the emulator tests' are."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"

_skipped: dict[str, str] = {}


def node_tool(name: str) -> Path:
    """The pinned tool ``name`` from node_modules, or a loud skip saying how to get it."""
    if shutil.which("node") is None:
        reason = "Node.js is not installed (apt-get install nodejs npm)"
    elif not (BIN / name).exists():
        reason = "node_modules is missing or stale: run `make test` (it runs npm ci) or `npm ci`"
    else:
        return BIN / name
    message = f"NODE TOOLS MISSING, CLIENT CHECKS SKIPPED: {reason}"
    _skipped[name] = message
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        terminalreporter.section("client checks", sep="!", red=True, bold=True)
        for message in sorted(set(_skipped.values())):
            terminalreporter.write_line(message, red=True, bold=True)
