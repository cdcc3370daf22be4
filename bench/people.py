"""Benchmark of find-users and match-contacts (not a test): latency and throughput through the
local HTTP servers at 100k users, and the query plans.

    .venv/bin/python -m bench.people [--users 100000] [--seconds 5]

find-users is asked a mix of what people type: first-name prefixes (2-3 letters, thousands of
matches), last-name prefixes, handle prefixes (few matches), and two words. match-contacts is
sent 500 numbers a call, a third of them numbers users have, a tenth of those discoverable
(about 17 matches a call). Starts its own PostgreSQL in a temporary directory and removes it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import (
    Load,
    first_ok,
    load,
    migrate,
    progress,
    scratch_database,
    server_process,
    servers,
    table,
)

CALLERS = 200
BODIES = 50


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def queries(users: int, rng: random.Random) -> list[str]:
    from realm.devstack import synthetic

    firsts = [_ascii(n) for n in synthetic.FIRST_NAMES]
    lasts = [_ascii(n).replace("'", "") for n in synthetic.LAST_NAMES]
    mix: list[str] = []
    for _ in range(400):
        first, last = rng.choice(firsts), rng.choice(lasts)
        mix += [
            first[: rng.choice((2, 3))],
            first[: rng.choice((2, 3))],
            last[: rng.choice((3, 4, 5))],
            f"synthetic{rng.randrange(1, users)}"[: rng.choice((11, 12, 13))],
            f"{first[:3]} {last[:2]}",
        ]
    return mix


def contact_bodies(users: int, rng: random.Random) -> list[bytes]:
    from realm.devstack import synthetic

    return [
        json.dumps(
            {"phones": [synthetic.phone_of(rng.randrange(1, users)) for _ in range(500)]}
        ).encode()
        for _ in range(BODIES)
    ]


def fill(users: int) -> None:
    from realm import db
    from realm.devstack import synthetic

    # 100k users in a few statements: beyond a request's statement and socket bounds.
    with db.pool().unbounded() as conn:
        conn.execute_simple("BEGIN")
        tx = db.Tx(conn)
        tx.execute("TRUNCATE users, parties, invites, photos, outbox RESTART IDENTITY CASCADE")
        synthetic.add_users(tx, users, prefix="synthetic")
        conn.execute_simple("COMMIT")
    progress("users (and their search terms)", users, users)
    with db.pool().connection() as conn:
        conn.execute_simple("VACUUM ANALYZE")


def _generic_plan(sql: str, params: dict[str, Any]) -> list[str]:
    """EXPLAIN ANALYZE of the plan the functions run: prepared, then executed (a plain EXPLAIN
    with parameters would show a plan made for those values)."""
    from pg8000.native import literal, to_statement

    from realm import db

    statement, values = to_statement(sql)
    arguments = ", ".join("NULL" if v is None else literal(v) for v in values(params))
    with db.pool().connection() as conn:
        conn.execute_simple(f"PREPARE bench AS {statement}")
        try:
            rows = conn.execute_simple(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE bench({arguments})"
            ).rows
        finally:
            conn.execute_simple("DEALLOCATE bench")
    return [row[0] for row in rows or []]


def explain(users: int) -> dict[str, list[str]]:
    from realm.devstack import synthetic
    from realm.people import contacts, search

    plans = {}
    for q in ("zo", "zoe sm"):
        plans[f"find-users q={q!r}"] = _generic_plan(
            search.sql_for(q), search.params("synthetic1", q, limit=20)
        )
    rng = random.Random(3)
    numbers = sorted({synthetic.phone_of(rng.randrange(1, users)) for _ in range(500)})
    plans[f"match-contacts, {len(numbers)} numbers"] = _generic_plan(
        contacts._MATCH_SQL, {"uid": "synthetic1", "phones": ",".join(numbers)}
    )
    return plans


def by_kind(users: int, samples: int = 200) -> list[list[Any]]:
    """find-users in process (the pool, the generic plan, no HTTP): latency by kind of query."""
    import statistics
    import time

    from realm import db
    from realm.devstack import synthetic
    from realm.people import search

    rng = random.Random(5)
    firsts = [_ascii(n) for n in synthetic.FIRST_NAMES]
    lasts = [_ascii(n).replace("'", "") for n in synthetic.LAST_NAMES]
    kinds: dict[str, Callable[[], str]] = {
        "first-name prefix (2-3 letters)": lambda: rng.choice(firsts)[: rng.choice((2, 3))],
        "last-name prefix (3-5 letters)": lambda: rng.choice(lasts)[: rng.choice((3, 4, 5))],
        "handle prefix": lambda: f"synthetic{rng.randrange(1, users)}"[:12],
        "exact handle": lambda: f"synthetic{rng.randrange(1, users)}",
        "two words (first, last)": lambda: f"{rng.choice(firsts)[:3]} {rng.choice(lasts)[:2]}",
        "deep page (40 pages in)": lambda: "synthetic",
    }
    rows = []
    with db.reading() as tx:
        for kind, make in kinds.items():
            timings = []
            deep: str | None = None
            for _ in range(40 if kind.startswith("deep") else 0):
                deep = search.find(tx, "synthetic1", make(), limit=20, cursor=deep).next_cursor
            for _ in range(samples):
                q, cursor = make(), deep
                began = time.perf_counter()
                search.find(tx, "synthetic1", q, limit=20, cursor=cursor)
                timings.append((time.perf_counter() - began) * 1000)
            timings.sort()
            rows.append(
                [
                    kind,
                    samples,
                    f"{statistics.median(timings):.2f}",
                    f"{timings[int(len(timings) * 0.99)]:.2f}",
                ]
            )
    return rows


def measure(users: int, seconds: float, log_dir: Path) -> list[tuple[str, str, Load]]:
    from realm.config import settings
    from realm.devstack import tokens
    from realm.devstack.ports import free_port

    rng = random.Random(9)
    callers = [tokens.mint(settings, f"synthetic{n}", lifetime=7200) for n in range(1, CALLERS + 1)]
    searches = queries(users, rng)
    bodies = contact_bodies(users, rng)
    # The benchmark's callers make many calls a day: no quota may stop them.
    env = {**os.environ, "REALM_QUOTAS": "contacts=999999999/86400"}
    results: list[tuple[str, str, Load]] = []
    for function in ("find-users", "match-contacts"):
        for kind in servers(0, function):
            port = free_port()
            command = servers(port, function)[kind]
            base = f"/{function}" if command[1] == "serve" else "/"
            with server_process(command, port, env, log_dir / "server.log"):
                if function == "find-users":
                    paths = [
                        (f"{base}?{urlencode({'q': q, 'limit': 20})}", rng.choice(callers))
                        for q in searches
                    ]
                    first_ok(port, paths[0][0], paths[0][1], 30)
                    for clients in (1, 8):
                        results.append((function, kind, load(port, paths, clients, seconds)))
                else:
                    posts = [(base, token) for token in callers]
                    _first_post(port, base, callers[0], bodies[0])
                    for clients in (1, 8):
                        measured = load(port, posts, clients, seconds, bodies=bodies)
                        results.append((function, kind, measured))
    return results


def _first_post(port: int, path: str, token: str, body: bytes) -> None:
    import http.client
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                path,
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            return
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    rows: list[list[Any]] = []
    with scratch_database() as scratch:
        migrate()
        fill(args.users)
        plans = explain(args.users)
        kinds = by_kind(args.users)
        for function, kind, result in measure(args.users, args.seconds, scratch.workdir):
            rows.append(
                [
                    function,
                    kind,
                    *result.cells(),
                ]
            )

    print(
        f"\nfind-users (20 a page, a mix of prefixes) and match-contacts (500 numbers a call) at "
        f"{args.users:,} users; {args.seconds:.0f}s per run; 2-core machine, client on the same "
        "machine\n"
    )
    print(table(rows, ["function", "server", "clients", "requests", "p50 ms", "p99 ms", "req/s"]))
    print("\nfind-users in process (pool, generic plan, no HTTP), by kind of query:\n")
    print(table(kinds, ["query", "samples", "p50 ms", "p99 ms"]))
    for name, plan in plans.items():
        # The array of 500 numbers would fill the screen.
        lines = [line if len(line) < 160 else line[:150] + " ...)" for line in plan]
        print(f"\nEXPLAIN ANALYZE, {name}:\n  " + "\n  ".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
