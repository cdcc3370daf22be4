"""Where a function's CPU goes under load: py-spy samples its worker while wrk loads it, and
each sample is put in one bucket by the deepest frame of the stack that a bucket claims.

Used by ``bench.compare --profile FUNCTION``; py-spy comes with the ``bench`` extra. Sampling
is non-blocking (the process is not paused), so the profile costs the server little, and only
samples of the thread holding the GIL count (``--gil``): the shares are of the worker's Python
CPU, not of the time its eight threads spend waiting on sockets, locks or the GIL.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import executable

# (bucket, a file path fragment, a function name or "" for any): the deepest frame that
# matches decides a sample's bucket; earlier rows win for the same frame.
BUCKETS: tuple[tuple[str, str, str], ...] = (
    ("log line (logging, realm.logs)", "logging/", ""),
    ("log line (logging, realm.logs)", "realm/logs.py", ""),
    ("JSON encoding", "json/", ""),
    ("JSON encoding", "pydantic/main.py", "model_dump_json"),
    ("JSON encoding", "realm/edge/http.py", "run"),
    ("JSON encoding", "orjson", ""),
    ("response models (pydantic validation)", "pydantic/", "model_validate"),
    ("query parameters (decoding, pydantic)", "realm/edge/bodies.py", "query"),
    ("query parameters (decoding, pydantic)", "realm/edge/http.py", "parse_query"),
    ("token (header, verified-token cache)", "realm/edge/auth.py", ""),
    ("token (header, verified-token cache)", "realm/edge/http.py", "authenticate"),
    ("pg8000: protocol and type conversion", "pg8000/", ""),
    ("pool checkout/checkin, guard", "realm/db/pool.py", "connection"),
    ("pool checkout/checkin, guard", "realm/db/pool.py", "_checkout"),
    ("pool checkout/checkin, guard", "realm/db/pool.py", "_checkin"),
    ("pool checkout/checkin, guard", "realm/db/guard.py", ""),
    ("our SQL call (parameters, rows to dicts)", "realm/db/pool.py", ""),
    ("edge: the rest of @endpoint", "realm/edge/", ""),
    ("domain code (realm.hosting, realm.people, cursors, URLs)", "realm/", ""),
    ("function module (main.py)", "main.py", ""),
    ("functions-framework, Flask, werkzeug (routing, request, response)", "flask/", ""),
    ("functions-framework, Flask, werkzeug (routing, request, response)", "werkzeug/", ""),
    (
        "functions-framework, Flask, werkzeug (routing, request, response)",
        "functions_framework",
        "",
    ),
    ("gunicorn (HTTP parsing, socket I/O, threads)", "gunicorn/", ""),
)
OTHER = "other (interpreter, threading, garbage collection)"


def _frame(text: str) -> tuple[str, str]:
    """(function, file) of a py-spy raw frame ``function (file:line)``."""
    name, _, where = text.partition(" (")
    return name.strip(), where.rsplit(":", 1)[0]


def bucket(stack: list[str]) -> str:
    for text in reversed(stack):  # leaf first: the deepest frame a bucket claims wins
        function, path = _frame(text)
        method = function.rpartition(".")[2]  # py-spy names methods Class.method
        for name, fragment, wanted in BUCKETS:
            if fragment in path and (not wanted or wanted == method):
                return name
    return OTHER


def summarise(raw: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame for frame in stack.split(";") if frame]
        # Each thread's first frame is "process" / "thread" labels in raw output: skipped by
        # bucket() as they match no file.
        counts[bucket(frames)] += int(count)
    return counts


def record(pid: int, out: Path, seconds: float, load: Callable[[], Any]) -> None:
    """Samples ``pid`` while ``load()`` runs; writes the buckets' shares and CPU per request."""
    raw = out.with_suffix(".raw")
    spy = subprocess.Popen(
        [
            executable("py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--duration",
            str(int(seconds)),
            "--nonblocking",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # py-spy attaches before the load starts
    run = load()
    spy.wait(timeout=seconds + 60)
    counts = summarise(raw.read_text())
    total = sum(counts.values())
    lines = [
        f"py-spy, {total} samples of the worker while running; {run.rps:,.0f} req/s,"
        f" {run.cpu_ms:.3f} ms CPU per request (all the server's processes)",
        "",
        "| where | share | ms per request |",
        "|---|---|---|",
    ]
    for name, count in counts.most_common():
        share = count / total
        lines.append(f"| {name} | {share:.1%} | {share * run.cpu_ms:.3f} |")
    out.write_text("\n".join(lines) + "\n")
