"""What the benchmarks share: a private PostgreSQL, a server process, a load generator."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# What a read function must not import (DESIGN §10).
FORBIDDEN = ("google.cloud.pubsub", "google.cloud.storage", "google.cloud.firestore", "PIL")


def progress(label: str, done: int, total: int) -> None:
    width = 40
    filled = int(width * done / total)
    sys.stderr.write(f"\r{label:<28} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@contextmanager
def server_process(
    command: Sequence[str], port: int, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    from realm.devstack.ports import wait_for_port

    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command), env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO
        )
        try:
            wait_for_port(port, 60, command[0])
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def first_ok(port: int, path: str, token: str, timeout: float) -> float:
    """Polls until ``path`` answers 200; returns the time it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return time.perf_counter()
            raise RuntimeError(f"{path} answered {status}")
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            time.sleep(0.002)
    raise TimeoutError(f"no 200 from {path} within {timeout}s")


def _client(
    port: int,
    paths: list[tuple[str, str]],
    seconds: float,
    warmup: float,
    results: Any,
    bodies: Sequence[bytes] | None = None,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    rng = random.Random(os.getpid())
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds
    while True:
        path, token = rng.choice(paths)
        body = rng.choice(bodies) if bodies else None
        began = time.perf_counter()
        if began >= stop:
            break
        headers = {"Authorization": f"Bearer {token}"}
        if body is None:
            conn.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/json"
            conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        if began >= measure_from:
            latencies.append(time.perf_counter() - began)
    results.put(latencies)


@dataclass(frozen=True)
class Load:
    clients: int
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float


def load(
    port: int,
    paths: list[tuple[str, str]],
    clients: int,
    seconds: float = 5.0,
    warmup: float = 1.0,
    bodies: Sequence[bytes] | None = None,
) -> Load:
    """``clients`` processes, each one keep-alive connection, as fast as answers come: GETs of
    ``paths``, or POSTs of one of ``bodies`` (JSON) to them when bodies are given."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_client, args=(port, paths, seconds, warmup, results, bodies))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    for _ in workers:
        latencies += results.get(timeout=seconds + warmup + 60)
    for worker in workers:
        worker.join()
    latencies.sort()
    return Load(
        clients,
        len(latencies),
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        len(latencies) / seconds,
    )


def import_times(folder: str, source_root: Path, runs: int) -> tuple[float, float, list[str]]:
    """`python -X importtime` of a function's main.py: medians of (functions_framework ms,
    main.py ms on top of it) and the cloud client / PIL modules it loaded."""
    framework, main, loaded = [], [], set()
    code = (
        "import functions_framework, sys; import main; "
        f"print([m for m in {FORBIDDEN!r} if m in sys.modules])"
    )
    path = [str(source_root / "functions" / folder)]
    if source_root != REPO:
        path.append(str(source_root / "shared"))
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
            check=True,
        )
        cumulative = {}
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
            if match:
                cumulative[match[2]] = int(match[1]) / 1000
        framework.append(cumulative["functions_framework"])
        main.append(cumulative["main"])
        loaded |= set(json.loads(result.stdout.strip().replace("'", '"')))
    return statistics.median(framework), statistics.median(main), sorted(loaded)
