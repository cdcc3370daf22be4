"""Benchmark of deleting an account (not a test): a host of N upcoming parties with M guests
each deletes their account through `realm serve`, with every event going through the official
emulators. Three times are measured from the request:

- the request itself (delete-account's one transaction: the parties cancelled and deleted,
  N x M invites and the outbox events naming the host, the erasure written);
- the fan-out of the cancellations: until the last guest's party-cancelled notification is in
  Firestore (outbox -> Pub/Sub emulator -> push -> notify-guest -> Firestore emulator);
- the erasure: until erase-account has finished (Pub/Sub -> erase-account: the host's photo
  objects in the storage emulator, their feed and the N x M "Host invited you" notifications in
  the guests' feeds in the Firestore emulator, their account in the Firebase Auth emulator).

    .venv/bin/python -m bench.delete_account [--sizes 5x100,20x100]

Starts its own PostgreSQL, storage emulator, gcloud Pub/Sub and Firestore emulators, Firebase
Auth emulator (when Node and firebase-tools are installed) and `realm serve`; stops them all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    gcloud_emulators_missing,
    migrate,
    realm_serve_for_events,
    right_aligned_table,
    scratch_database,
    timed_post,
)

PROJECT = "demo-realm-bench"  # a demo- project: the Auth emulator's tokens are accepted
CONFIRM = {"confirm": "delete my account"}
OWN_NOTIFICATIONS = 200
PHOTOS = 3


def arrange(parties: int, guests: int, tag: str) -> tuple[str, int]:
    """A host of ``parties`` upcoming parties with ``guests`` guests each, every guest told
    "Host invited you" (the outbox row and the Firestore document), the host with photos and a
    feed of their own. Returns (host uid, host id)."""
    from realm import db
    from realm.events import notify
    from realm.media import storage

    uid = f"{tag}-host"
    with db.pool().unbounded() as conn:
        tx = db.Tx(conn)
        conn.execute_simple("BEGIN")
        host = int(
            tx.scalar(
                "INSERT INTO users (auth_uid, handle, display_name, email)"
                " VALUES (:u, :h, 'Leaving Host', :e) RETURNING id",
                u=uid,
                h=f"{tag}_host",
                e=f"{uid}@bench.test",
            )
        )
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " SELECT :t || '-' || n, :t || '_' || n, 'Guest ' || n, :t || '-' || n || '@b.test'"
            " FROM generate_series(1, CAST(:n AS int)) n",
            t=tag,
            n=parties * guests,
        )
        tx.execute(
            "INSERT INTO parties (host_id, flat, first_entry)"
            " SELECT :h, 'FLAT' || n, now() + make_interval(hours => 24 + n)"
            " FROM generate_series(1, CAST(:n AS int)) n",
            h=host,
            n=parties,
        )
        # Guest k of party p is the user tag-(p*guests + k): each party its own guests.
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
            " SELECT p.id, p.first_entry, u.id,"
            "        CASE WHEN u.id % 3 = 0 THEN 'confirmed' ELSE 'invited' END"
            " FROM (SELECT id, first_entry, row_number() OVER (ORDER BY id) - 1 AS k"
            "       FROM parties WHERE host_id = :h) p"
            " CROSS JOIN generate_series(1, CAST(:g AS int)) n"
            " JOIN users u ON u.auth_uid = :t || '-' || (p.k * :g + n)",
            h=host,
            t=tag,
            g=guests,
        )
        invited = tx.all(
            "SELECT i.id, i.party_id, i.guest_id, u.auth_uid FROM invites i"
            " JOIN users u ON u.id = i.guest_id JOIN parties p ON p.id = i.party_id"
            " WHERE p.host_id = :h",
            h=host,
        )
        told = []
        for row in invited:
            event_id = str(uuid.uuid4())
            data = {
                "invite_id": row["id"],
                "party_id": row["party_id"],
                "flat": "FLAT",
                "title": None,
                "guest_id": row["guest_id"],
                "guest_auth_uid": row["auth_uid"],
                "host_id": host,
                "host_auth_uid": uid,
                "host_display_name": "Leaving Host",
            }
            message = {
                "event_id": event_id,
                "type": "invite-created",
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": data,
            }
            tx.execute(
                "INSERT INTO outbox (event_id, topic, type, message, published_at, user_ids)"
                " VALUES (:e, 'invite-created', 'invite-created', CAST(:m AS jsonb), now(),"
                " CAST(:u AS bigint[]))",
                e=event_id,
                m=json.dumps(message),
                u=[host, row["guest_id"]],
            )
            told.append((str(row["auth_uid"]), event_id))
        conn.execute_simple("COMMIT")
    feed = notify.FirestoreFeed(os.environ["REALM_PROJECT_ID"])
    invited_note = notify.Notification(
        "invite-created", "You're invited", "Leaving Host invited you.", 1, 1, datetime.now(UTC)
    )
    own_note = notify.Notification(
        "invite-responded", "Invite confirmed", "A guest is coming.", 1, 1, datetime.now(UTC)
    )
    items = [(guest, event_id, invited_note) for guest, event_id in told]
    items += [(uid, f"own-{n}", own_note) for n in range(OWN_NOTIFICATIONS)]
    for start in range(0, len(items), notify.FIRESTORE_BATCH_LIMIT):
        feed.add_many(items[start : start + notify.FIRESTORE_BATCH_LIMIT])
    store = storage.store()
    for _ in range(PHOTOS):
        for name in ("original", "display.webp", "512.webp", "128.webp"):
            store.put(f"photos/{host}/{uuid.uuid4()}/{name}", b"x" * 2048, "image/webp")
    return uid, host


def count(client: Any, notification_type: str) -> int:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client.collection_group("notifications").where(
        filter=FieldFilter("type", "==", notification_type)
    )
    return int(query.count().get()[0][0].value)


def erased(erasure_id: int) -> float | None:
    """The erasure's own seconds (finished - requested, server time) once it is done."""
    from realm import db

    with db.reading() as tx:
        row = tx.one(
            "SELECT extract(epoch FROM finished_at - requested_at) AS s FROM account_erasures"
            " WHERE id = :id AND finished_at IS NOT NULL",
            id=erasure_id,
        )
    return None if row is None else float(row["s"])


def erasure_steps(log: Path) -> dict[str, float]:
    """The seconds of each step of the last erasure, from erase-account's log line."""
    found: dict[str, float] = {}
    for line in log.read_text().splitlines():
        if '"account erased"' in line:
            found = json.loads(line).get("seconds", {})
    return found


def measure(
    base: str,
    client: Any,
    auth_host: str | None,
    log: Path,
    parties: int,
    guests: int,
    timeout: float,
) -> list[str]:
    from realm import db
    from realm.config import settings
    from realm.devstack import auth_emulator, emulators, tokens
    from realm.media import storage

    with db.transaction() as tx:
        tx.execute("TRUNCATE users, outbox, account_erasures RESTART IDENTITY CASCADE")
    assert settings.project_id == PROJECT
    emulators.firestore_reset(os.environ["FIRESTORE_EMULATOR_HOST"], PROJECT)
    tag = f"b{parties}x{guests}"
    uid, host = arrange(parties, guests, tag)
    if auth_host:
        token = auth_emulator.id_token(auth_host, uid)  # the account exists from here
    else:
        token = tokens.mint(settings, uid, lifetime=3600)
    told = parties * guests
    if count(client, "invite-created") != told:
        raise RuntimeError("the arrangement is not what it should be")

    started = time.perf_counter()
    request = timed_post(f"{base}/delete-account", CONFIRM, token, 202, 120)
    fanout = erasure = None
    while (fanout is None or erasure is None) and time.perf_counter() - started < timeout:
        time.sleep(0.1)
        if fanout is None and count(client, "party-cancelled") >= told:
            fanout = time.perf_counter() - started
        if erasure is None:
            with db.reading() as tx:
                erasure_id = tx.scalar("SELECT max(id) FROM account_erasures")
            if erasure_id is not None and erased(int(erasure_id)) is not None:
                erasure = time.perf_counter() - started
    if fanout is None or erasure is None:
        raise RuntimeError(f"not done in {timeout:.0f}s: fan-out {fanout}, erasure {erasure}")
    own = erased(int(erasure_id))
    left = (
        count(client, "invite-created"),
        count(client, "invite-responded"),
        len(storage.store().keys(f"photos/{host}/")),
    )
    if left != (0, 0, 0):
        raise RuntimeError(f"left behind (mentions, own notifications, objects): {left}")
    if auth_host and auth_emulator.lookup(auth_host, PROJECT, uid) is not None:
        raise RuntimeError("the Auth emulator still has the account")
    steps = erasure_steps(log)
    print(f"  {parties} x {guests}: {request:.2f}s, {fanout:.2f}s, {erasure:.2f}s", file=sys.stderr)
    return [
        str(parties),
        str(guests),
        f"{told:,}",
        f"{request * 1000:.0f}",
        f"{fanout:.2f}",
        f"{erasure:.2f}",
        f"{own:.2f}" if own is not None else "-",
        *(f"{steps.get(step, 0):.2f}" for step in ("photos", "feed", "mentions", "sign_in")),
        "emulator" if auth_host else "none",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="5x100,20x100")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    if gcloud_emulators_missing():
        return 1
    os.environ["REALM_PROJECT_ID"] = PROJECT
    for name in ("STORAGE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        os.environ.pop(name, None)
    rows: list[list[str]] = []
    with scratch_database() as scratch:
        scratch.stack.storage(durable=False)
        scratch.gcloud_emulators(PROJECT)
        from realm.devstack import auth_emulator

        auth_host = None
        if auth_emulator.unavailable() is None:
            auth = auth_emulator.emulator(scratch.workdir / "emulators", PROJECT).start(timeout=180)
            scratch.stack.started("Auth emulator", auth.stop)
            auth_emulator.wait_ready(auth.host, timeout=120)
            auth_host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = auth.host
        from google.cloud import firestore

        migrate()
        client = firestore.Client(project=PROJECT)
        log = scratch.workdir / "serve.log"
        with realm_serve_for_events(log) as base:
            for size in args.sizes.split(","):
                parties, guests = (int(n) for n in size.split("x"))
                rows.append(measure(base, client, auth_host, log, parties, guests, args.timeout))

    print(
        f"\nDeleting a host's account through `realm serve` and the emulators"
        f" ({os.cpu_count()} cores); seconds from the request\n"
    )
    header = ["parties", "guests", "told", "request ms", "fan-out s", "erasure s"]
    steps = ["erasure own s", "photos s", "feed s", "mentions s", "sign-in s", "Auth"]
    print(right_aligned_table(rows, [*header, *steps]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
