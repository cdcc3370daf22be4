"""Benchmark of push fan-out (not a test): one event delivered to 1,000 devices through the FCM
stand-in, by the stand-in's answer time (standing for the round trip to Google) and by the
number of requests in flight; then the same event redelivered, which must send nothing.

    .venv/bin/python -m bench.push_fanout [--devices 1000] [--latencies 0,20,50]
                                         [--concurrency 4,16,32]

Starts its own PostgreSQL and the stand-in (realm.devstack), and stops both afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import right_aligned_table

PER_GUEST = 2  # devices per guest: a phone and a tablet, say


def guests_with_devices(devices: int) -> list[str]:
    """``devices / 2`` guests with two devices each; returns their auth uids."""
    from realm import db

    guests = devices // PER_GUEST
    with db.transaction() as tx:
        tx.execute("TRUNCATE users RESTART IDENTITY CASCADE")
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " SELECT 'guest-' || n, 'guest_' || n, 'Guest ' || n, 'guest-' || n || '@bench.test'"
            " FROM generate_series(1, CAST(:n AS int)) n",
            n=guests,
        )
        tx.execute(
            "INSERT INTO devices (user_id, token, platform)"
            " SELECT u.id, 'phone-' || u.id || '-' || k, 'android'"
            " FROM users u CROSS JOIN generate_series(1, CAST(:k AS int)) k",
            k=PER_GUEST,
        )
        tx.execute("ANALYZE devices")
    return [f"guest-{n}" for n in range(1, guests + 1)]


def run(devices: int, latency_ms: int, concurrency: int) -> list[str]:
    from realm.devstack.fcm import StandInFcm
    from realm.events import push

    recipients = guests_with_devices(devices)
    stand_in = StandInFcm(latency=latency_ms / 1000).start()
    sender = push.FcmSender(
        stand_in.url, "realm-bench", push.StandInToken(), connections=concurrency
    )
    event = uuid.uuid4()
    content = push.PushContent(str(event), "invite-created", "You're invited", "Host invited you.")
    try:
        with ThreadPoolExecutor(concurrency) as executor:
            started = time.perf_counter()
            report = push.deliver(event, recipients, content, sender=sender, executor=executor)
            seconds = time.perf_counter() - started
            requests = len(stand_in.received())
            again = time.perf_counter()
            push.deliver(event, recipients, content, sender=sender, executor=executor)
            redelivery = time.perf_counter() - again
            resent = len(stand_in.received()) - requests
    finally:
        stand_in.stop()
    if report.sent != devices or resent:
        raise RuntimeError(f"sent {report.sent}/{devices}, resent {resent}")
    print(f"  {latency_ms} ms x {concurrency}: {seconds:.2f}s", file=sys.stderr)
    return [
        f"{devices:,}",
        str(latency_ms),
        str(concurrency),
        f"{seconds:.2f}",
        f"{requests:,}",
        f"{requests / seconds:,.0f}",
        f"{redelivery * 1000:.0f}",
        str(resent),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--latencies", default="0,20,50")
    parser.add_argument("--concurrency", default="4,16,32")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="realm-bench-push-"))
    os.environ.update(
        REALM_ENV="test", REALM_PROJECT_ID="realm-bench", REALM_STATE_DIR=str(workdir)
    )
    os.environ.pop("DATABASE_URL", None)
    from realm.devstack.stack import Stack

    stack = Stack()
    rows = []
    try:
        stack.postgres(durable=False)
        from realm import db
        from realm.db import migrate

        migrate.migrate(db.pool())
        run(min(args.devices, 200), 0, 16)  # warm-up: connections, prepared statements
        for latency in (int(v) for v in args.latencies.split(",")):
            for concurrency in (int(v) for v in args.concurrency.split(",")):
                rows.append(run(args.devices, latency, concurrency))
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nPush fan-out through the FCM stand-in ({os.cpu_count()} cores, one process)")
    print(
        right_aligned_table(
            rows,
            [
                "devices",
                "FCM ms",
                "in flight",
                "seconds",
                "requests",
                "req/s",
                "redelivery ms",
                "resent",
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
