"""A dependency's failures are logged one line each, and a burst of the same one is summarised."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from realm import outages
from realm.logs import CloudLoggingFormatter, log


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(CloudLoggingFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    outages.reset()
    handler = Lines()
    log.addHandler(handler)
    yield handler
    log.removeHandler(handler)
    outages.reset()


def test_a_failure_is_one_json_line_without_a_traceback(logged: Lines) -> None:
    try:
        raise ConnectionRefusedError("[Errno 111] Connection refused")
    except ConnectionRefusedError as error:
        outages.report("postgresql", error)

    [line] = logged.lines
    assert "\n" not in line
    [entry] = logged.entries()
    assert entry["severity"] == "ERROR"
    assert entry["dependency"] == "postgresql"
    assert entry["error"] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert "stack_trace" not in entry


def test_a_burst_of_the_same_failure_is_one_line_then_a_count(
    logged: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr("realm.outages.time.monotonic", lambda: now[0])
    error = TimeoutError("no answer")

    for _ in range(500):
        outages.report("cloud-storage", error)
    assert len(logged.lines) == 1

    now[0] += outages.WINDOW_SECONDS
    outages.flush()

    first, summary = logged.entries()
    assert "repeated" not in first
    assert summary["repeated"] == 499
    assert "499 more like it" in str(summary["message"])


def test_different_failures_are_each_logged(logged: Lines) -> None:
    outages.report("postgresql", TimeoutError("no answer"))
    outages.report("postgresql", ConnectionRefusedError("refused"))
    outages.report("cloud-storage", TimeoutError("no answer"))

    assert [entry["dependency"] for entry in logged.entries()] == [
        "postgresql",
        "postgresql",
        "cloud-storage",
    ]


def test_the_same_failure_after_its_window_is_logged_again_with_the_count(
    logged: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    monkeypatch.setattr("realm.outages.time.monotonic", lambda: now[0])
    for _ in range(3):
        outages.report("postgresql", TimeoutError("no answer"))
    now[0] += outages.WINDOW_SECONDS + 1

    outages.report("postgresql", TimeoutError("no answer"))

    assert [entry.get("repeated") for entry in logged.entries()] == [None, 2]
