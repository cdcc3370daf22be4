"""Fault tests: dependencies down, frozen or slow, and bodies meant to exhaust memory, against a
`realm serve` of this module's own, with a PostgreSQL and a storage emulator of its own (the
suite's shared ones are never stopped) and short bounds.

Every time asserted here is a bound the issue asks for, with slack: this machine has two cores
shared with other test runs, so a bound of 1 s is asserted as "well under 10 s", which still
tells a bounded wait from the old behaviour (200 s for an upload, a request hung for as long as
PostgreSQL was frozen).
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from realm import db
from realm.db import migrate
from realm.devstack import postgres, storage_emulator
from realm.devstack.emulators import Emulator
from realm.devstack.ports import free_port, wait_for_port
from realm.events.publishing import Message, push_envelope
from tests.e2e.flows import Person
from tests.helpers import Client, Reply, in_hours
from tests.photo_samples import jpeg

SERVE = [sys.executable, "-m", "realm.cli", "serve", "--no-seed", "--relay-every", "0"]
# The bounds the server of this module runs with (seconds).
BOUNDS = {
    "REALM_DB_CONNECT_TIMEOUT_SECONDS": "1",
    "REALM_DB_SOCKET_TIMEOUT_SECONDS": "2",
    "REALM_DB_STATEMENT_TIMEOUT_MS": "1500",
    "REALM_DB_POOL_WAIT_SECONDS": "1",
    "REALM_STORAGE_TIMEOUT_SECONDS": "1",
    "REALM_STORAGE_RETRY_SECONDS": "1",
    "REALM_BODY_READ_TIMEOUT_SECONDS": "1",
}
# A request against a frozen or stopped dependency ends within the bounds above (at most a
# pool wait, a connect and a socket timeout: 4 s); a loaded machine gets the rest.
WITHIN_BOUNDS = 10.0
MiB = 1 << 20


@dataclass
class Stack:
    api: Client
    server: subprocess.Popen[bytes]
    log: Path
    database: postgres.Postgres
    storage: Emulator

    @property
    def port(self) -> int:
        return int(self.api.base_url.rsplit(":", 1)[1])

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.server.pid}/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]
        )

    def sql(self, statement: str, **params: Any) -> Any:
        pool = db.Pool(db.connection_factory_for(self.database.url), 1)
        try:
            with pool.transaction() as tx:
                return tx.scalar(statement, **params)
        finally:
            pool.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("faults")
    database = postgres.throwaway()
    database.start()
    database.remove_on_stop = False  # stopped and started again by a test
    storage = storage_emulator.storage(state / "storage.log", bucket="realm-faults").start(30)
    pool = db.Pool(db.connection_factory_for(database.url), 1)
    migrate.migrate(pool)
    pool.close()
    port = free_port()
    env = {
        **os.environ,
        **BOUNDS,
        "DATABASE_URL": database.url,
        "STORAGE_EMULATOR_HOST": f"http://{storage.host}",
        "REALM_MEDIA_BUCKET": "realm-faults",
        "REALM_STATE_DIR": str(state),
    }
    for name in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
        env.pop(name, None)
    log = state / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for_port(port, 60, "realm serve (faults)")
        yield Stack(Client(f"http://127.0.0.1:{port}"), server, log, database, storage)
    finally:
        server.terminate()
        server.wait(timeout=30)
        storage.stop()
        database.remove_on_stop = True
        if not database.started:
            database.start()  # stop() removes its directory only from a running server
        database.stop()


def timed(call: Callable[[], Reply]) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = call()
    return reply, time.monotonic() - started


def unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply
    assert reply.body["error"]["code"] == "unavailable"
    assert int(reply.headers["Retry-After"]) >= 1


def eventually_ok(call: Callable[[], Reply], seconds: float = 30) -> Reply:
    deadline = time.monotonic() + seconds
    while True:
        reply = call()
        if reply.status < 500 or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


# -- bodies --------------------------------------------------------------------------------------


def send_body(port: int, head: bytes, total: int, piece: bytes) -> tuple[int | None, int]:
    """Sends ``head`` then ``piece`` again and again, ``total`` bytes in all, streaming (the
    body never exists in memory), and stops as soon as the server answers or closes. Returns
    the answer's status (None if there was none) and how much of the body was sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break  # an answer (or the close) before the body was all sent
            if writable:
                try:
                    sent += sock.send(piece[: total - sent])
                except (BrokenPipeError, ConnectionResetError):
                    break
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    return status, sent


@contextmanager
def peak_rss(stack: Stack) -> Iterator[list[int]]:
    """Samples the server's RSS every 10 ms while the block runs: [baseline, peak] in KiB."""
    baseline = stack.rss_kib()
    result = [baseline, baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            result[1] = max(result[1], stack.rss_kib())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result[1] = max(result[1], stack.rss_kib())


def warm_up(stack: Stack, person: Person) -> None:
    """The first requests load code and fill caches; only then is a baseline fair."""
    for _ in range(3):
        person.invite(1, person)
        send_body(stack.port, head(person, "/create-invite", 1000), 1000, b"x" * 1000)


def head(person: Person, path: str, length: int | None, method: str = "POST") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {person.token}\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


HUNDRED_MB = 100 * 1000 * 1000
# Memory growth allowed for four 100 MB bodies at once (the bound).
RSS_GROWTH_KIB = 20 * 1024


def test_four_100_mb_bodies_at_once_are_refused_without_growing_the_server(stack: Stack) -> None:
    # Before: each was read into memory (four took the process from 151 to 655 MB).
    person = Person(stack.api, "Heavy Sender")
    warm_up(stack, person)
    piece = b"x" * MiB
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    kinds = [
        ("/create-invite", HUNDRED_MB, piece),  # declared: refused on the headers
        ("/create-invite", None, chunk),  # chunked: cut off at the limit
        ("/photo-upload", HUNDRED_MB, piece),
        ("/me", None, chunk),  # a GET with a body: refused unread
    ]

    def one(kind: tuple[str, int | None, bytes]) -> tuple[int | None, int]:
        path, length, chunk = kind
        method = "GET" if path == "/me" else "POST"
        return send_body(stack.port, head(person, path, length, method), HUNDRED_MB, chunk)

    with peak_rss(stack) as rss, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, kinds))

    assert [status for status, _ in results] == [413, 413, 413, 400]
    assert all(sent < HUNDRED_MB for _, sent in results), "cut off, not read to the end"
    growth = rss[1] - rss[0]
    assert growth <= RSS_GROWTH_KIB, f"RSS grew {growth} KiB (from {rss[0]} KiB)"


def test_a_body_shorter_than_declared_ends_in_a_timeout_not_a_hung_worker(stack: Stack) -> None:
    person = Person(stack.api, "Slow Sender")
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as sock:
        sock.sendall(head(person, "/create-party", 1000) + b'{"flat": "SLOW"')
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
        while chunk := sock.recv(4096):  # the rest of the answer, up to the close
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"request_timeout" in answer
    assert waited < 1 + WITHIN_BOUNDS


# -- storage -------------------------------------------------------------------------------------


def upload(stack: Stack, person: Person) -> Reply:
    return stack.api.post(
        "/photo-upload",
        auth=person.token,
        json_body={"image_base64": base64.b64encode(jpeg()).decode()},
        timeout=120,
    )


def test_with_storage_frozen_uploads_fail_fast_and_me_keeps_answering(stack: Stack) -> None:
    # Before: each upload held a pooled connection for ~200 s; five left `me` answering 503.
    people = [Person(stack.api, f"Uploader {n}") for n in range(6)]
    assert upload(stack, people[0]).status == 202
    assert stack.storage.process is not None
    os.kill(stack.storage.process.pid, signal.SIGSTOP)

    def upload_of(person: Person) -> tuple[Reply, float]:
        return timed(lambda: upload(stack, person))

    try:
        with ThreadPoolExecutor(6) as pool:
            uploads = [pool.submit(upload_of, person) for person in people[1:]]
            time.sleep(0.3)  # the uploads are waiting on storage now
            mes = [timed(lambda: stack.api.get("/me", auth=people[0].token)) for _ in range(10)]
            done = [future.result() for future in uploads]
    finally:
        os.kill(stack.storage.process.pid, signal.SIGCONT)

    for reply, seconds in done:
        unavailable(reply)
        assert seconds < WITHIN_BOUNDS
    assert [reply.status for reply, _ in mes] == [200] * 10
    assert max(seconds for _, seconds in mes) < 2.0, "me never waits on storage"


def test_an_event_function_failing_on_storage_logs_one_json_line(stack: Stack) -> None:
    person = Person(stack.api, "Thumbnail Owner")
    photo_id = uuid.uuid4()
    stack.sql(
        "INSERT INTO photos (id, owner_id, content_type, bytes, sha256, original_key)"
        " VALUES (:id, :owner, 'image/jpeg', 1, repeat('0', 64), :key) RETURNING 1",
        id=photo_id,
        owner=person.id,
        key=f"photos/{person.id}/{photo_id}/original",
    )
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "photo-uploaded",
        "occurred_at": "2030-01-01T00:00:00+00:00",
        "data": {"photo_id": str(photo_id), "user_id": person.id},
    }
    envelope = push_envelope(Message.of("photo-uploaded", event), "projects/p/subscriptions/s")
    mark = stack.log.stat().st_size
    stack.storage.stop()
    try:
        statuses = [
            stack.api.post("/make-thumbnail", json_body=envelope, timeout=60).status
            for _ in range(5)
        ]
    finally:
        stack.storage.start(30)

    assert statuses == [503] * 5, "not acknowledged: Pub/Sub delivers it again"
    written = stack.log.read_bytes()[mark:].decode()
    assert "Traceback" not in written
    lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    failures = [e for e in lines if e.get("subscriber") == "make-thumbnail"]
    assert len(failures) == 1, "five identical failures, one line (the rest are counted)"
    assert failures[0]["dependency"] == "cloud-storage"
    assert failures[0]["severity"] == "ERROR"


def test_with_storage_stopped_an_upload_is_a_quick_503_and_stores_no_row(stack: Stack) -> None:
    person = Person(stack.api, "Unlucky Uploader")
    stack.storage.stop()
    try:
        reply, seconds = timed(lambda: upload(stack, person))
    finally:
        stack.storage.start(30)

    unavailable(reply)
    assert seconds < WITHIN_BOUNDS
    assert stack.sql("SELECT count(*) FROM photos WHERE owner_id = :u", u=person.id) == 0
    assert upload(stack, person).status == 202, "storage back: uploads work again"


# -- PostgreSQL ------------------------------------------------------------------------------------


def postgres_pids(database: postgres.Postgres) -> list[int]:
    """The postmaster and its children (backends and background processes)."""
    postmaster = int((database.data_dir / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


def test_with_postgresql_frozen_requests_are_503_within_the_bound(stack: Stack) -> None:
    # Before: every request hung for as long as PostgreSQL was frozen.
    person = Person(stack.api, "Frozen Out")
    assert stack.api.get("/me", auth=person.token).status == 200
    pids = postgres_pids(stack.database)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(4) as pool:
            replies = list(
                pool.map(lambda _: timed(lambda: stack.api.get("/me", auth=person.token)), range(8))
            )
    finally:
        for pid in reversed(pids):
            os.kill(pid, signal.SIGCONT)

    for reply, seconds in replies:
        unavailable(reply)
        assert seconds < WITHIN_BOUNDS
    assert eventually_ok(lambda: stack.api.get("/me", auth=person.token)).status == 200


def test_with_postgresql_stopped_requests_are_503_and_recover_without_a_restart(
    stack: Stack,
) -> None:
    # Before: 500 internal, no Retry-After, and a stack trace per request.
    person = Person(stack.api, "Patient Guest")
    party = person.create_party(in_hours(30))
    mark = stack.log.stat().st_size
    stack.database.stop()
    try:
        replies = [timed(lambda: stack.api.get("/me", auth=person.token)) for _ in range(30)]
        replies += [timed(lambda: person.invite(party, person)) for _ in range(5)]
        relay = stack.api.post("/relay-outbox")
        reminders = stack.api.post("/send-reminders")
    finally:
        stack.database.start()

    for reply, seconds in replies:
        unavailable(reply)
        assert seconds < WITHIN_BOUNDS
    assert relay.status == 503
    assert reminders.status == 503, "before: an uncaught 500 with a traceback"
    assert reminders.headers["Retry-After"] == "60"
    recovered = eventually_ok(lambda: stack.api.get("/me", auth=person.token))
    assert recovered.status == 200
    written = stack.log.read_bytes()[mark:].decode()
    assert "Traceback" not in written
    entries = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    explained = [e for e in entries if e.get("dependency") == "postgresql"]
    assert 1 <= len(explained) <= 3, "37 failures, explained in a line or so (the rest counted)"
    assert all("\n" not in e["message"] for e in explained)
