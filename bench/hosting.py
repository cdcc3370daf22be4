"""Benchmark of the host's read functions (not a test): get-party at the 1M-invite size and
list-guests of a 500-guest party, p50/p99 and requests/s at 1 and 8 clients, each function
under functions-framework as deployed, beside the hello-world floor measured in the same run.

    .venv/bin/python -m bench.hosting [--invites 1000000] [--seconds 5]

Starts its own PostgreSQL in a temporary directory and removes it afterwards. The 1M fill is
bench.list_parties' (users = invites/10, parties = invites/20), plus one party of 500 guests
(confirmed, waitlisted, invited and declined, two co-hosts).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    Load,
    first_ok,
    functions_framework,
    load,
    migrate,
    scratch_database,
    server_process,
    table,
)
from bench.list_parties import fill

BIG_PARTY_GUESTS = 500


def big_party() -> tuple[int, str]:
    """A party of 500 guests hosted by a new user; returns (party id, host auth uid)."""
    from realm import db

    with db.transaction() as tx:
        host = tx.scalar(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES ('bench-big-host', 'bench_big_host', 'Big Host', 'big@example.test')"
            " RETURNING id"
        )
        party = tx.scalar(
            "INSERT INTO parties (host_id, flat, title, first_entry, capacity, max_plus_ones)"
            " VALUES (:h, 'BIGFLAT', 'Big one', now() + interval '3 days', 400, 2) RETURNING id",
            h=host,
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status, plus_ones)"
            " SELECT :p, (SELECT first_entry FROM parties WHERE id = :p), g.id,"
            "        (ARRAY['confirmed', 'confirmed', 'invited', 'waitlisted', 'declined'])"
            "          [1 + g.n % 5],"
            "        CASE WHEN g.n % 5 IN (0, 1, 3) THEN g.n % 2 ELSE 0 END"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users"
            "       WHERE auth_uid LIKE 'bench-%' AND id <> :h ORDER BY id LIMIT :n) g",
            p=party,
            h=host,
            n=BIG_PARTY_GUESTS,
        )
        tx.execute(
            "INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)"
            " SELECT p.id, p.first_entry, u.id, 'cohost' FROM parties p,"
            " (SELECT id FROM users WHERE auth_uid LIKE 'bench-%' AND id <> :h"
            "  ORDER BY id DESC LIMIT 2) u WHERE p.id = :p",
            p=party,
            h=host,
        )
    with db.pool().connection() as conn:
        conn.execute_simple("ANALYZE")
    return int(party), "bench-big-host"


def get_party_callers(count: int) -> list[tuple[int, str]]:
    """(party, guest auth uid) pairs of upcoming parties, spread over the database."""
    from realm import db

    with db.transaction() as tx:
        rows = tx.all(
            "SELECT i.party_id, u.auth_uid FROM invites i TABLESAMPLE SYSTEM (1)"
            " JOIN users u ON u.id = i.guest_id"
            " WHERE i.party_first_entry > now() LIMIT :n",
            n=count,
        )
    return [(int(r["party_id"]), str(r["auth_uid"])) for r in rows]


def measure(
    name: str, command_for: Any, paths: list[tuple[str, str]], seconds: float, log: Path
) -> list[tuple[str, Load]]:
    from realm.devstack.ports import free_port

    port = free_port()
    results = []
    with server_process(command_for(port), port, dict(os.environ), log):
        first_ok(port, paths[0][0], paths[0][1], 30)
        for clients in (1, 8):
            results.append((name, load(port, paths, clients, seconds)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    rows: list[list[Any]] = []
    with scratch_database() as scratch:
        migrate()
        from realm.config import settings
        from realm.devstack import tokens

        fill(args.invites)
        party, host_uid = big_party()

        def token(uid: str) -> str:
            return tokens.mint(settings, uid, lifetime=7200)

        hello = REPO / "bench" / "yardsticks" / "hello.py"
        host_token = token(host_uid)
        suites = [
            (
                "hello-world floor",
                lambda port: functions_framework("hello", port, hello),
                [("/", host_token)],
            ),
            (
                f"get-party ({args.invites:,} invites)",
                lambda port: functions_framework("get_party", port),
                [(f"/?party_id={p}", token(uid)) for p, uid in get_party_callers(200)],
            ),
            (
                f"list-guests ({BIG_PARTY_GUESTS} guests, 50 a page)",
                lambda port: functions_framework("list_guests", port),
                [
                    (f"/?party_id={party}&limit=50", host_token),
                    (f"/?party_id={party}&status=confirmed&limit=50", host_token),
                    (f"/?party_id={party}&status=waitlisted&limit=50", host_token),
                ],
            ),
        ]
        log = scratch.workdir / "s.log"
        for name, command_for, paths in suites:
            for label, result in measure(name, command_for, paths, args.seconds, log):
                rows.append(
                    [
                        label,
                        *result.cells(),
                    ]
                )

    print(
        f"\nhost's read functions under functions-framework (gunicorn), {args.seconds:.0f}s per"
        " run; 2-core machine, client, server and PostgreSQL on the same cores\n"
    )
    print(table(rows, ["function", "clients", "requests", "p50 ms", "p99 ms", "req/s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
