"""Benchmark of list-parties (not a test): latency and throughput through the local HTTP
server at 10k and at 1M invites, cold start, import time, and the query plan.

    .venv/bin/python -m bench.list_parties [--invites 1000000] [--seconds 5]

Starts its own PostgreSQL in a temporary directory and removes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from bench.common import (
    REPO,
    Load,
    cold_start,
    first_ok,
    functions_framework,
    import_times,
    load,
    migrate,
    progress,
    scratch_database,
    server_process,
    servers,
    table,
)

BATCH = 100_000


def _sizes(invites: int) -> tuple[int, int, int]:
    """Users, parties and the 'cohort' whose lists are measured (each has 100 invites)."""
    users, parties = max(invites // 10, 1000), max(invites // 20, 500)
    return users, parties, min(1000, users // 20)


def fill(invites: int) -> list[str]:
    """Fills the database to ``invites`` (users = invites/10, parties = invites/20); returns the
    auth uids of the measured cohort."""
    from realm import db

    users, parties, cohort = _sizes(invites)
    with db.transaction() as tx:
        tx.execute("TRUNCATE users, parties, invites, photos, outbox RESTART IDENTITY CASCADE")
    for start in range(0, users, BATCH):
        with db.transaction() as tx:
            tx.execute(
                "INSERT INTO users (auth_uid, handle, display_name, email)"
                " SELECT 'bench-' || n, 'bench' || n, 'User ' || n,"
                "        'bench-' || n || '@example.test'"
                " FROM generate_series(CAST(:a AS int), CAST(:b AS int)) n",
                a=start,
                b=min(start + BATCH, users) - 1,
            )
        progress("users", min(start + BATCH, users), users)
    with db.transaction() as tx:
        # Parties spread from 30 days ago to 60 days ahead, whatever their number: a third of
        # them are over.
        tx.execute(
            "INSERT INTO parties (host_id, flat, first_entry)"
            " SELECT 1000 + (n * 37) % CAST(:users AS int), 'FLAT' || n,"
            "        date_trunc('hour', now())"
            "        + (n * 2160 / CAST(:parties AS int) - 720) * interval '1 hour'"
            " FROM generate_series(0, CAST(:parties AS int) - 1) n",
            users=users,
            parties=parties,
        )
    progress("parties", parties, parties)
    # The cohort: 100 invites each, all unanswered. Everyone else: random invites until the
    # total is reached, 60% unanswered, 30% confirmed, 10% declined.
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id)"
            " SELECT p.id, p.first_entry, 1000 + u"
            " FROM generate_series(0, CAST(:cohort AS int) - 1) u, generate_series(0, 99) k"
            " JOIN LATERAL (SELECT id, first_entry FROM parties"
            "   WHERE id = 1000 + (u * 131 + k * 499) % CAST(:parties AS int)) p ON true"
            " ON CONFLICT DO NOTHING",
            cohort=cohort,
            parties=parties,
        )
        done = int(tx.scalar("SELECT count(*) FROM invites"))
    seed = 0
    while done < invites:
        want = min(BATCH, invites - done)
        with db.transaction() as tx:
            tx.execute("SELECT setseed(:s)", s=(seed % 1000) / 1000)
            tx.execute(
                "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
                " SELECT p.id, p.first_entry, g.guest,"
                "        CASE WHEN g.r < 0.6 THEN 'invited' WHEN g.r < 0.9 THEN 'confirmed'"
                "             ELSE 'declined' END"
                " FROM (SELECT CAST(:first_guest AS int)"
                "              + floor(random() * CAST(:guests AS int))::int AS guest,"
                "              1000 + floor(random() * CAST(:parties AS int))::int AS party,"
                "              random() AS r"
                "       FROM generate_series(1, CAST(:want AS int))) g"
                " JOIN parties p ON p.id = g.party"
                " ON CONFLICT DO NOTHING",
                first_guest=1000 + cohort,
                guests=users - cohort,
                parties=parties,
                want=want,
            )
            done = int(tx.scalar("SELECT count(*) FROM invites"))
        seed += 1
        progress("invites", done, invites)
    with db.pool().connection() as conn:
        conn.execute_simple("VACUUM ANALYZE")
    return [f"bench-{n}" for n in range(cohort)]


def explain(auth_uid: str) -> list[str]:
    from realm import db
    from realm.hosting import parties

    with db.transaction() as tx:
        rows = tx.all(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + parties.list_sql("invited"),
            uid=auth_uid,
            status="invited",
            limit=21,
            after_start=parties._NO_CURSOR[0],
            after_id=0,
        )
    return [row["QUERY PLAN"] for row in rows]


def measure(cohort: list[str], seconds: float, log_dir: Path) -> list[tuple[str, Load]]:
    from realm.config import settings
    from realm.devstack import tokens
    from realm.devstack.ports import free_port

    paths = [
        ("/?view=invited&limit=20", tokens.mint(settings, uid, lifetime=7200))
        for uid in cohort[:200]
    ]
    results = []
    for kind in servers(0, "list-parties"):
        port = free_port()
        command = servers(port, "list-parties")[kind]
        prefix = "/list-parties" if command[1] == "serve" else ""
        kind_paths = [(prefix + path, token) for path, token in paths]
        with server_process(command, port, dict(os.environ), log_dir / "server.log"):
            first_ok(port, kind_paths[0][0], kind_paths[0][1], 30)
            for clients in (1, 8):
                results.append((kind, load(port, kind_paths, clients, seconds)))
    return results


def cold_starts(cohort: list[str], runs: int, log_dir: Path) -> list[float]:
    from realm.config import settings
    from realm.devstack import tokens

    probe = ("/?view=invited&limit=20", tokens.mint(settings, cohort[0], lifetime=7200))
    return [
        cold_start(
            lambda port: functions_framework("list_parties", port),
            dict(os.environ),
            probe,
            log_dir / "cold.log",
            30,
        )
        for _ in range(runs)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()

    # The fill inserts a million rows in single statements: no statement or socket bound for
    # it (the servers started below inherit this; a bound changes nothing in what they time).
    with scratch_database(unbounded_fill=True) as scratch:
        migrate()
        rows, plans = [], {}
        for size in (args.small, args.invites):
            cohort = fill(size)
            plans[size] = explain(cohort[0])
            for kind, result in measure(cohort, args.seconds, scratch.workdir):
                rows.append(
                    [
                        f"{size:,}",
                        kind,
                        *result.cells(),
                    ]
                )
        cold = cold_starts(cohort, args.cold_runs, scratch.workdir)
        framework, main_ms, forbidden = import_times("list_parties", REPO, args.cold_runs)

    users, parties, _ = _sizes(args.invites)
    print(
        f"\nlist-parties, view=invited, 20 rows; {users:,} users, {parties:,} parties at the "
        f"large size; {args.seconds:.0f}s per run; 2-core machine, client on the same machine\n"
    )
    print(table(rows, ["invites", "server", "clients", "requests", "p50 ms", "p99 ms", "req/s"]))
    print(
        f"\ncold start (process start -> first 200, functions-framework, {len(cold)} runs): "
        f"median {statistics.median(cold):.3f}s, min {min(cold):.3f}s, max {max(cold):.3f}s"
    )
    print(
        f"import time (-X importtime, median of {args.cold_runs}): functions_framework "
        f"{framework:.0f} ms; main.py on top of it "
        f"{main_ms:.0f} ms; cloud client / PIL modules loaded: "
        f"{forbidden or 'none'}"
    )
    for size, plan in plans.items():
        print(f"\nEXPLAIN ANALYZE at {size:,} invites:\n  " + "\n  ".join(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
