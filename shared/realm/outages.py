"""Failures of what we depend on, logged as one JSON line each, with repeats summarised.

When PostgreSQL or storage is down, every request fails the same way, and a log line (let
alone a traceback) per request is a storm that hides everything else: the review counted 2,306
stack traces in 30 seconds. So a failure is logged once, as one line without a traceback
(``severity: ERROR``, ``dependency``, ``error``); the identical ones that follow within
``WINDOW_SECONDS`` are counted, not logged, and the next line about it says how many there
were (``repeated``). Failures are identical when they are of the same kind, against the same
dependency, with the same message.

Each request's own access line (its status, 503) is still logged by the edge: this module only
keeps the *explanations* from repeating.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from realm.logs import log

WINDOW_SECONDS = 10.0
_MAX_KINDS = 256  # distinct failures remembered; beyond that, every one is logged


@dataclass
class _Seen:
    logged_at: float
    repeated: int = 0


_seen: dict[tuple[str, str, str], _Seen] = {}
_lock = threading.Lock()


# Client libraries put object addresses in their messages ("<HTTPConnection object at
# 0x7f…>"): the same failure twice must read the same.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _key(dependency: str, error: BaseException) -> tuple[str, str, str]:
    return dependency, type(error).__name__, _ADDRESS.sub("0x…", str(error))[:300]


def _log(key: tuple[str, str, str], repeated: int, fields: dict[str, Any] | None) -> None:
    dependency, kind, message = key
    extra: dict[str, Any] = {"dependency": dependency, "error": f"{kind}: {message}"}
    if repeated:
        extra["repeated"] = repeated
        extra["repeated_window_seconds"] = WINDOW_SECONDS
    suffix = f" (and {repeated} more like it in the last {WINDOW_SECONDS:g}s)" if repeated else ""
    log.error(
        "%s unavailable: %s: %s%s",
        dependency,
        kind,
        message,
        suffix,
        extra={"fields": {**(fields or {}), **extra}},
    )


def report(dependency: str, error: BaseException, fields: dict[str, Any] | None = None) -> None:
    """Logs ``error`` (a failure of ``dependency``), unless the same failure was logged less
    than ``WINDOW_SECONDS`` ago, in which case it is counted for the next line."""
    key = _key(dependency, error)
    now = time.monotonic()
    with _lock:
        seen = _seen.get(key)
        if seen is not None and now - seen.logged_at < WINDOW_SECONDS:
            seen.repeated += 1
            return
        repeated = seen.repeated if seen is not None else 0
        if len(_seen) >= _MAX_KINDS and key not in _seen:
            _seen.clear()
        _seen[key] = _Seen(now)
    _log(key, repeated, fields)


def flush() -> None:
    """Logs the count of failures still unreported once their window has passed (called at
    the start of every request, so the count of the last burst is not lost when it ends)."""
    if not _seen:
        return
    now = time.monotonic()
    due: list[tuple[tuple[str, str, str], int]] = []
    with _lock:
        for key, seen in list(_seen.items()):
            if now - seen.logged_at < WINDOW_SECONDS:
                continue
            if seen.repeated:
                due.append((key, seen.repeated))
            del _seen[key]
    for key, repeated in due:
        _log(key, repeated, None)


def reset() -> None:
    """Forgets everything seen (tests)."""
    with _lock:
        _seen.clear()
