"""Soak benchmark (not a test): mixed traffic from 8 clients against a local `realm serve` for a
configurable time, reporting over time the server's RSS and open file descriptors, PostgreSQL's
connections, the outbox backlog, and at the end every answer counted by status.

    .venv/bin/python -m bench.soak [--seconds 180] [--clients 8] [--interval 15]

Starts its own PostgreSQL (throw-away) and `realm serve` (which starts the storage emulator, and
the Pub/Sub and Firestore emulators where installed, with the relay every 5 s), and stops all of
it afterwards. The traffic is what the app does: sign up, read `me`, list parties, host parties,
invite each other, answer invites, now and then a profile photo; creates carry an
Idempotency-Key and a few of them are sent twice, as a retrying app would. Quotas are raised for
the run (a soak is one user doing far more than any person does).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO

SERVE = [sys.executable, "-m", "realm.cli", "serve", "--no-seed", "--relay-every", "5"]


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.by_operation[(operation, status)] += 1
            self.latencies.append(seconds)

    def total(self) -> int:
        with self.lock:
            return sum(self.statuses.values())

    def errors(self) -> int:
        with self.lock:
            return sum(count for status, count in self.statuses.items() if status >= 500)


class Client:
    def __init__(self, port: int, token: str, tally: Tally) -> None:
        self.port, self.token, self.tally = port, token, tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        data = None
        if isinstance(body, bytes):
            data = body
        elif body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=all_headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                # The local server closes every connection after its answer.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    self.tally.add(path.split("?")[0], 0, time.perf_counter() - started)
                    return 0, None
        self.tally.add(path.split("?")[0], response.status, time.perf_counter() - started)
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


def small_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass
class Member:
    client: Client
    id: int
    parties: list[int] = field(default_factory=list)
    invited_to: list[int] = field(default_factory=list)


def create(member: Member, path: str, body: Any, rng: random.Random) -> tuple[int, Any]:
    """A create with an Idempotency-Key; one in ten is sent again, as after a lost answer."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    status, reply = member.client.call("POST", path, body, key)
    if rng.random() < 0.1:
        again, replayed = member.client.call("POST", path, body, key)
        assert again != 201 or replayed == reply, "a replay is the first answer"
    return status, reply


def client_loop(member: Member, everyone: list[Member], stop: float, seed: int, photo: str) -> None:
    rng = random.Random(seed)
    first_entry = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    while time.monotonic() < stop:
        roll = rng.random()
        client = member.client
        if roll < 0.30:
            client.call("GET", "/me")
        elif roll < 0.60:
            view = rng.choice(["invited", "confirmed", "hosting"])
            client.call("GET", f"/list-parties?view={view}&limit=20")
        elif roll < 0.65 or not member.parties:
            status, party = create(
                member, "/create-party", {"flat": f"SOAK{seed}", "first_entry": first_entry}, rng
            )
            if status == 201:
                member.parties.append(party["id"])
        elif roll < 0.85:
            guest = rng.choice([m for m in everyone if m is not member])
            party_id = member.parties[-1]
            status, _ = create(
                member, "/create-invite", {"party_id": party_id, "guest_id": guest.id}, rng
            )
            if status == 201:
                guest.invited_to.append(party_id)
            elif status == 409:  # everyone is invited to this one: host another next time
                member.parties.clear()
        elif roll < 0.98:
            if member.invited_to:
                client.call(
                    "POST",
                    "/respond-invite",
                    {
                        "party_id": rng.choice(member.invited_to),
                        "response": rng.choice(["confirmed", "declined"]),
                    },
                )
            else:
                client.call("GET", "/me")
        else:
            create(member, "/photo-upload", {"image_base64": photo}, rng)


def sample(server_pid: int, database_url: str) -> dict[str, int]:
    from realm import db

    status = Path(f"/proc/{server_pid}/status").read_text()
    rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    fds = len(os.listdir(f"/proc/{server_pid}/fd"))
    pool = db.Pool(db.connection_factory_for(database_url), 1)
    try:
        with pool.reading() as tx:
            connections = int(
                tx.scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'realm' AND pid <> pg_backend_pid()"
                )
            )
            backlog = int(tx.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            events = int(tx.scalar("SELECT count(*) FROM outbox"))
    finally:
        pool.close()
    return {"rss": rss, "fds": fds, "db": connections, "backlog": backlog, "events": events}


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [
        "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--interval", type=float, default=15)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="realm-bench-soak-"))
    os.environ.update(
        REALM_ENV="local",
        REALM_PROJECT_ID="realm-soak",
        REALM_STATE_DIR=str(workdir / "state"),
        REALM_LOCAL_KEY_FILE=str(workdir / "state" / "key.pem"),
    )
    for name in ("DATABASE_URL", "PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
        os.environ.pop(name, None)
    from realm.devstack.ports import free_port, wait_for_port
    from realm.devstack.stack import Stack

    stack = Stack()
    server: subprocess.Popen[bytes] | None = None
    rows: list[list[str]] = []
    tally = Tally()
    try:
        stack.postgres(durable=False)
        database_url = os.environ["DATABASE_URL"]
        from realm.config import settings
        from realm.devstack import tokens

        assert settings.local_key_file is not None
        tokens.ensure_key(settings.local_key_file)
        port = free_port()
        log = workdir / "server.log"
        env = {
            **os.environ,
            "REALM_QUOTAS": "parties=1000000/3600,invites=1000000/3600,photos=1000000/3600",
        }
        with log.open("wb") as output:
            server = subprocess.Popen(
                [*SERVE, "--port", str(port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        wait_for_port(port, 180, "realm serve")
        time.sleep(1)

        members = []
        for n in range(args.clients):
            auth_uid = f"soak-{n}-{uuid.uuid4().hex[:6]}"
            client = Client(port, tokens.mint(settings, auth_uid, lifetime=7200), tally)
            body, content_type = multipart(
                {"display_name": f"Soak {n}", "email": f"{auth_uid}@example.test"}
            )
            status, user = client.call("POST", "/signup", body, {"Content-Type": content_type})
            assert status == 201, (status, user)
            members.append(Member(client, user["id"]))
        photo = base64.b64encode(small_jpeg()).decode()

        started = time.monotonic()
        stop = started + args.seconds
        threads = [
            threading.Thread(target=client_loop, args=(m, members, stop, n, photo), daemon=True)
            for n, m in enumerate(members)
        ]
        for thread in threads:
            thread.start()
        previous_total, previous_at = 0, started
        while True:
            now = time.monotonic()
            if now >= stop + args.interval / 2:
                break
            time.sleep(min(args.interval, max(0.0, stop - now)) or args.interval / 2)
            now = time.monotonic()
            total = tally.total()
            numbers = sample(server.pid, database_url)
            rows.append(
                [
                    f"{now - started:.0f}",
                    f"{total:,}",
                    f"{(total - previous_total) / (now - previous_at):.0f}",
                    str(tally.errors()),
                    f"{numbers['rss'] / 1024:.1f}",
                    str(numbers["fds"]),
                    str(numbers["db"]),
                    f"{numbers['events']:,}",
                    str(numbers["backlog"]),
                ]
            )
            print("  " + " ".join(rows[-1]), file=sys.stderr)
            previous_total, previous_at = total, now
            if now >= stop:
                break
        for thread in threads:
            thread.join(timeout=90)
        time.sleep(6)  # one more relay run after the traffic
        final = sample(server.pid, database_url)
        tracebacks = log.read_text(errors="replace").count("Traceback")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    latencies = sorted(tally.latencies)
    print(
        f"\nSoak: {args.clients} clients for {args.seconds:.0f}s against realm serve"
        f" ({os.cpu_count()} cores; client, server, PostgreSQL and emulators on the same cores)\n"
    )
    print(
        table(
            [
                "s",
                "requests",
                "req/s",
                "5xx",
                "RSS MiB",
                "fds",
                "db conns",
                "events",
                "backlog",
            ],
            rows,
        )
    )
    print(
        f"\nAfter the traffic and one more relay run: backlog {final['backlog']},"
        f" RSS {final['rss'] / 1024:.1f} MiB, fds {final['fds']}, db connections {final['db']};"
        f" tracebacks in the server log: {tracebacks}"
    )
    print(
        f"Latency over all requests: p50 {statistics.median(latencies) * 1000:.1f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    print("\nAnswers by status:")
    print(
        table(["status", "count"], [[str(s), f"{c:,}"] for s, c in sorted(tally.statuses.items())])
    )
    print("\nBy operation and status:")
    print(
        table(
            ["operation", "status", "count"],
            [[op, str(s), f"{c:,}"] for (op, s), c in sorted(tally.by_operation.items())],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
