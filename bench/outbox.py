"""Benchmark of the outbox relay (not a test): events per second from a backlog of pending
events to the official Pub/Sub emulator, by relay batch size; and the time a request spends
publishing its own event after commit.

    .venv/bin/python -m bench.outbox [--events 10000] [--batch-sizes 100,500,1000]

Starts its own PostgreSQL and Pub/Sub emulator (realm.devstack) and stops both afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import right_aligned_table


def backlog(events: int) -> None:
    """``events`` pending invite-created events, shaped exactly as ``outbox.add`` writes them."""
    from realm import db

    with db.transaction() as tx:
        tx.execute("TRUNCATE outbox")
        tx.execute(
            "INSERT INTO outbox (event_id, topic, type, message, occurred_at)"
            " SELECT id, 'invite-created', 'invite-created',"
            "  jsonb_build_object('event_id', id, 'type', 'invite-created',"
            "   'occurred_at', now(), 'data', jsonb_build_object("
            "    'invite_id', n, 'party_id', n / 10, 'flat', 'FLAT' || n / 10, 'title', NULL,"
            "    'first_entry', now() + interval '1 day', 'guest_id', n,"
            "    'guest_auth_uid', 'guest-' || n, 'host_id', 1, 'host_auth_uid', 'host-1',"
            "    'host_display_name', 'Host 1')), now()"
            " FROM (SELECT gen_random_uuid() AS id, n"
            "       FROM generate_series(1, CAST(:events AS int)) n) AS s",
            events=events,
        )
        tx.execute("ANALYZE outbox")


def relay_rows(events: int, batch_sizes: list[int], publisher: Any) -> list[list[str]]:
    from realm.events import relay

    rows = []
    for batch_size in batch_sizes:
        backlog(events)
        started = time.perf_counter()
        report = relay.run(publisher, batch_size=batch_size, budget_seconds=3600)
        seconds = time.perf_counter() - started
        if report.published != events or report.failed:
            raise RuntimeError(f"relay published {report.published}/{events}: {report.errors}")
        rows.append(
            [
                f"{events:,}",
                str(batch_size),
                str(report.batches),
                f"{seconds:.2f}",
                f"{events / seconds:,.0f}",
            ]
        )
        print(f"  batch {batch_size}: {events / seconds:,.0f} events/s", file=sys.stderr)
    return rows


def after_commit_ms(samples: int, publisher: Any) -> tuple[float, float]:
    """p50 and p99 of publish_committed for one event (the request's own publish)."""
    from realm import db
    from realm.events import outbox

    timings = []
    for _ in range(samples):
        with db.transaction() as plain:
            tx = outbox.OutboxTx(plain)
            event = outbox.add(tx, "invite-created", {"invite_id": 1})
        started = time.perf_counter()
        outbox.publish_committed([event], publisher=publisher)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch-sizes", default="100,500,1000")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="realm-bench-outbox-"))
    os.environ.update(
        REALM_ENV="test", REALM_PROJECT_ID="realm-bench", REALM_STATE_DIR=str(workdir)
    )
    for given in ("DATABASE_URL", "PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
        os.environ.pop(given, None)
    from realm.devstack import emulators
    from realm.devstack.stack import Stack

    reason = emulators.unavailable()
    if reason is not None:
        print(f"the Pub/Sub emulator is needed: {reason}", file=sys.stderr)
        return 2
    stack = Stack()
    try:
        stack.postgres(durable=False)
        pubsub = emulators.pubsub(workdir).start()
        stack.started("Pub/Sub emulator", pubsub.stop)
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
        from realm import db
        from realm.db import migrate
        from realm.events import publishing

        migrate.migrate(db.pool())
        emulators.wire_pubsub(pubsub.host, "realm-bench", None)
        publisher = publishing.default()
        assert publisher.name == "pubsub"
        relay_rows(min(args.events, 2000), [500], publisher)  # warm-up: JIT, channel, caches
        rows = relay_rows(args.events, batch_sizes, publisher)
        p50, p99 = after_commit_ms(args.samples, publisher)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nOutbox relay → Pub/Sub emulator ({os.cpu_count()} cores), one relay process")
    print(right_aligned_table(rows, ["backlog", "batch", "batches", "seconds", "events/s"]))
    print(
        f"\nPublish after commit (one event, the request's own publish): p50 {p50:.2f} ms,"
        f" p99 {p99:.2f} ms over {args.samples} requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
