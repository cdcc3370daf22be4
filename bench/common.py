"""What the benchmarks share: a private PostgreSQL in a scratch directory, the commands that
serve the functions, a server process, a load generator and the tables they print."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realm.devstack.stack import Stack

REPO = Path(__file__).resolve().parents[1]
# What a read function must not import (DESIGN §10).
FORBIDDEN = ("google.cloud.pubsub", "google.cloud.storage", "google.cloud.firestore", "PIL")
# A fill of a million rows in single statements: no statement or socket bound for it.
UNBOUNDED_FILL = {"REALM_DB_STATEMENT_TIMEOUT_MS": "0", "REALM_DB_SOCKET_TIMEOUT_SECONDS": "3600"}


@dataclass(frozen=True)
class Scratch:
    workdir: Path
    # What the benchmark starts besides PostgreSQL goes here too, to be stopped with it.
    stack: Stack

    def gcloud_emulators(self, project: str) -> None:
        """Starts the Pub/Sub and Firestore emulators and points PUBSUB_EMULATOR_HOST and
        FIRESTORE_EMULATOR_HOST at them (``gcloud_emulators_missing`` first)."""
        from realm.devstack import emulators

        running = emulators.start_both(self.workdir / "emulators", project, None)
        self.stack.started("emulators", running.stop)
        os.environ.update(running.env())


def gcloud_emulators_missing() -> bool:
    """Whether the gcloud Pub/Sub and Firestore emulators cannot run here (it says why)."""
    from realm.devstack import emulators

    reason = emulators.unavailable()
    if reason is not None:
        print(f"the gcloud emulators are {reason}")
    return reason is not None


@contextmanager
def scratch_database(*, unbounded_fill: bool = False, reuse: bool = False) -> Iterator[Scratch]:
    """A temporary directory with the local environment's state in it (``REALM_ENV=local``) and
    a throwaway PostgreSQL at ``DATABASE_URL``, not yet migrated (``migrate``). Afterwards
    everything on the stack is stopped and the directory removed.

    ``unbounded_fill``: no statement or socket bound (``UNBOUNDED_FILL``) for this process and
    the servers it starts. ``reuse``: the ``DATABASE_URL`` and ``REALM_STATE_DIR`` of the
    environment, when they are set, in place of a new database and state.

    Nothing from ``realm`` but the devstack is imported here: ``realm.config`` reads the
    environment once, when first imported, so the caller imports it inside, once its own
    services (emulators) have set their variables."""
    workdir = Path(tempfile.mkdtemp(prefix="realm-bench-"))
    state = os.environ.get("REALM_STATE_DIR") if reuse else None
    os.environ.update(REALM_ENV="local", REALM_STATE_DIR=state or str(workdir / "state"))
    if unbounded_fill:
        os.environ.update(UNBOUNDED_FILL)
    if not reuse:
        os.environ.pop("DATABASE_URL", None)
    from realm.devstack.stack import Stack

    stack = Stack()
    try:
        stack.postgres(durable=False)
        yield Scratch(workdir, stack)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def migrate() -> None:
    """Applies the migrations to ``DATABASE_URL``."""
    from realm import db
    from realm.db import migrate as migrations

    migrations.migrate(db.pool())


def executable(name: str) -> str:
    """A command installed in the running Python's environment (.venv/bin)."""
    return str(Path(sys.executable).parent / name)


def realm_serve(port: int, *more: str) -> list[str]:
    """Every function in one process, as ``make run`` serves them, without the seed data."""
    return [executable("realm"), "serve", "--no-seed", "--port", str(port), *more]


@contextmanager
def realm_serve_for_events(log: Path) -> Iterator[str]:
    """``realm serve`` as the emulators' push endpoint (REALM_PUBLIC_BASE_URL), without relay or
    reminder runs of its own; yields its base URL once the push subscriptions are wired."""
    from realm.devstack.ports import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = realm_serve(port, "--relay-every", "0", "--reminders-every", "0")
    env = {**os.environ, "REALM_PUBLIC_BASE_URL": base}
    with server_process(command, port, env, log):
        time.sleep(2)  # the push subscriptions are wired just after the port opens
        yield base


def functions_framework(folder: str, port: int, source: Path | None = None) -> list[str]:
    """One function under functions-framework (gunicorn), as deployed: the target ``folder``
    from ``functions/<folder>/main.py``, or from ``source``."""
    return [
        executable("functions-framework"),
        "--target",
        folder,
        "--source",
        str(source or REPO / "functions" / folder / "main.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def servers(port: int, function: str) -> dict[str, list[str]]:
    """The two ways ``function`` (its name in a path: list-parties) is served, by name."""
    return {
        "realm serve (werkzeug, all functions)": realm_serve(port),
        "functions-framework (gunicorn, as deployed)": functions_framework(
            function.replace("-", "_"), port
        ),
    }


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Columns left-aligned between " | ", a rule under the header."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def right_aligned_table(rows: list[list[str]], header: list[str]) -> str:
    """Columns of numbers: every cell right-aligned, two spaces apart."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join("-" * width for width in widths)
    out = ["  ".join(cell.rjust(width) for cell, width in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


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


def cold_start(
    command: Callable[[int], list[str]],
    env: dict[str, str],
    probe: tuple[str, str],
    log: Path,
    timeout: float,
) -> float:
    """Seconds from starting the server ``command(port)`` on a free port to its first 200 for
    the GET ``probe`` (path, token); the server is stopped after."""
    from realm.devstack.ports import free_port

    port = free_port()
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(port), env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO
        )
        try:
            answered = first_ok(port, probe[0], probe[1], timeout)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return answered - started


def timed_post(url: str, body: dict[str, Any], token: str, status: int, timeout: float) -> float:
    """Seconds a JSON POST took, which must answer ``status``."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == status, response.status
    return time.perf_counter() - started


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

    def cells(self) -> list[Any]:
        """The columns a load table ends with: clients, requests, p50 ms, p99 ms, req/s."""
        return [
            self.clients,
            self.requests,
            f"{self.p50_ms:.2f}",
            f"{self.p99_ms:.2f}",
            f"{self.rps:.0f}",
        ]


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
