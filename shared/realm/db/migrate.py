"""Numbered ``.sql`` migrations, applied in order and recorded in ``schema_migrations``.

Safe to run twice (applied versions are skipped) and from two processes at once (a session
advisory lock serialises runners; the second finds nothing left to do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from realm.db import Pool

# Any fixed 64-bit number; it names "the migration lock" to every Realm process.
_LOCK_KEY = 7_374_656_101
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("realm.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def migrate(pool: Pool) -> list[Migration]:
    """Applies every pending migration, each in its own transaction; returns those applied."""
    applied_now: list[Migration] = []
    # Unbounded: a migration may build an index for minutes, and a second runner waits on the
    # lock for as long as the first takes.
    with pool.unbounded() as conn:
        conn.execute_simple(f"SELECT pg_advisory_lock({_LOCK_KEY})")
        try:
            conn.execute_simple(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row[0]
                for row in conn.execute_simple("SELECT version FROM schema_migrations").rows or []
            }
            for migration in available():
                if migration.version in done:
                    continue
                conn.execute_simple("BEGIN")
                try:
                    conn.execute_simple(migration.sql)
                    conn.execute_unnamed(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        (migration.version, migration.name),
                    )
                    conn.execute_simple("COMMIT")
                except BaseException:
                    conn.execute_simple("ROLLBACK")
                    raise
                applied_now.append(migration)
        finally:
            conn.execute_simple(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
    return applied_now
