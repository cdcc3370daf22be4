"""Benchmark of a party event's fan-out (not a test): seconds from cancel-party's request to the
last guest's notification in Firestore, through the official emulators (the outbox, Pub/Sub,
the push subscription, notify-guest's batches, Firestore), for parties of 500 and 2,000 guests.

    .venv/bin/python -m bench.fanout [--guests 500,2000]

Starts its own PostgreSQL, the gcloud Pub/Sub and Firestore emulators and a `realm serve`, and
stops them afterwards. Needs the emulators (gcloud components, Java).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench.common import (
    gcloud_emulators_missing,
    migrate,
    realm_serve_for_events,
    scratch_database,
    table,
    timed_post,
)


def arrange(guests: int, tag: str) -> tuple[int, str]:
    """A host and a party of ``guests`` invited guests; returns (party id, host auth uid)."""
    from realm import db

    with db.transaction() as tx:
        host = tx.scalar(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES (:u, :h, 'Fan Host', :e) RETURNING id",
            u=f"{tag}-host",
            h=f"{tag}_host",
            e=f"{tag}-host@example.test",
        )
        party = tx.scalar(
            "INSERT INTO parties (host_id, flat, first_entry)"
            " VALUES (:h, 'FANFLAT', now() + interval '2 days') RETURNING id",
            h=host,
        )
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " SELECT :t || '-' || n, :t || '_' || n, 'Guest ' || n, :t || '-' || n || '@e.test'"
            " FROM generate_series(1, :n) n",
            t=tag,
            n=guests,
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id)"
            " SELECT p.id, p.first_entry, u.id FROM parties p, users u"
            " WHERE p.id = :p AND u.auth_uid LIKE :pattern",
            p=party,
            pattern=f"{tag}-%",
        )
        tx.execute("DELETE FROM invites WHERE guest_id = :h", h=host)
    return int(party), f"{tag}-host"


def delivered(client: Any, party: int) -> int:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = client.collection_group("notifications").where(
        filter=FieldFilter("party_id", "==", party)
    )
    try:
        return int(query.count().get()[0][0].value)
    except Exception:  # an emulator without aggregation queries
        return sum(1 for _ in query.stream())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="500,2000")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    if gcloud_emulators_missing():
        return 1
    rows: list[list[Any]] = []
    with scratch_database() as scratch:
        scratch.gcloud_emulators("realm-local")
        from google.cloud import firestore

        from realm.config import settings
        from realm.devstack import tokens

        migrate()
        client = firestore.Client(project=settings.project_id)
        with realm_serve_for_events(scratch.workdir / "serve.log") as base:
            for n, guests in enumerate(int(g) for g in args.guests.split(",")):
                party, host = arrange(guests, f"fan{n}")
                token = tokens.mint(settings, host, lifetime=3600)
                started = time.perf_counter()
                request_seconds = timed_post(
                    f"{base}/cancel-party", {"party_id": party}, token, 200, 60
                )
                done = 0
                while done < guests and time.perf_counter() - started < args.timeout:
                    time.sleep(0.2)
                    done = delivered(client, party)
                seconds = time.perf_counter() - started
                rows.append(
                    [
                        f"{guests:,}",
                        f"{request_seconds * 1000:.0f}",
                        f"{done:,}",
                        f"{seconds:.2f}",
                        f"{done / seconds:.0f}",
                    ]
                )

    print(
        "\nparty-cancelled fan-out through the official emulators (outbox -> Pub/Sub -> push ->"
        " notify-guest -> Firestore); seconds from the request to the last document\n"
    )
    print(table(rows, ["guests", "cancel-party ms", "documents", "seconds", "documents/s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
