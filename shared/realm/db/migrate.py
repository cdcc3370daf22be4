"""Numbered ``.sql`` migrations, applied in order and recorded in ``schema_migrations``.

Safe to run twice (applied versions are skipped) and from two processes at once (a session
advisory lock serialises runners; the second finds nothing left to do).

Each applied migration is recorded with the SHA-256 of its text. A file edited after it was
applied is an error that names it, before anything else runs: the database would otherwise
silently differ from what the repository says it is. Fix forward with a new migration
instead. Rows recorded before checksums existed get theirs on the next run (the file as it is
then is taken as the one applied).

A file normally runs inside one transaction with its record, so it applies whole or not at
all. A file whose first line is ``-- realm:no-transaction`` runs outside any transaction, one
statement at a time, for what PostgreSQL refuses inside one (``CREATE INDEX CONCURRENTLY``,
which builds an index without blocking writes). Such a file is recorded only once every
statement has succeeded, so after a failure the next run repeats it: write it to be repeatable
(``DROP INDEX CONCURRENTLY IF EXISTS x;`` first, since a failed concurrent build leaves an
invalid index behind). Its statements are split at semicolons that end a line, so it must not
hold function bodies. Why an own runner: docs/decisions/0004-own-migrations-runner.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pg8000.core import CoreConnection

from realm.db import Pool

# Any fixed 64-bit number; it names "the migration lock" to every Realm process.
_LOCK_KEY = 7_374_656_101
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
NO_TRANSACTION = "-- realm:no-transaction"
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?\n")


class MigrationChanged(RuntimeError):
    """An applied migration's file no longer matches what was applied."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        # Line endings normalised: a checkout that turns \n into \r\n has not changed the SQL.
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()

    @property
    def in_transaction(self) -> bool:
        first_line = self.sql.lstrip("\ufeff").split("\n", 1)[0].strip()
        return first_line != NO_TRANSACTION

    def statements(self) -> list[str]:
        """The file's statements, for a file that runs outside a transaction."""
        parts = _STATEMENT_END.split(self.sql.replace("\r\n", "\n") + "\n")
        return [p.strip() for p in parts if _has_sql(p)]

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def _has_sql(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in text.split("\n"))


def available(source: Path | Traversable | None = None) -> list[Migration]:
    """The migrations of ``source`` (default: the package's own), in version order."""
    folder = source if source is not None else resources.files("realm.db.migrations")
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def migrate(pool: Pool, source: Path | Traversable | None = None) -> list[Migration]:
    """Applies every pending migration; returns those applied.

    Raises MigrationChanged, before applying anything, when an applied file was edited.
    """
    migrations = available(source)
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
            conn.execute_simple(
                "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text"
            )
            recorded = {
                int(row[0]): row[1]
                for row in conn.execute_simple(
                    "SELECT version, checksum FROM schema_migrations"
                ).rows
                or []
            }
            changed = [
                m.label for m in migrations if recorded.get(m.version) not in (None, m.checksum)
            ]
            if changed:
                raise MigrationChanged(
                    f"applied migration(s) edited since: {', '.join(changed)}; restore the "
                    "file(s) as applied and put the change in a new migration"
                )
            for migration in migrations:
                if migration.version in recorded and recorded[migration.version] is None:
                    conn.execute_unnamed(
                        "UPDATE schema_migrations SET checksum = $1 WHERE version = $2",
                        (migration.checksum, migration.version),
                    )
            for migration in migrations:
                if migration.version in recorded:
                    continue
                if migration.in_transaction:
                    _apply_in_transaction(conn, migration)
                else:
                    for statement in migration.statements():
                        conn.execute_simple(statement)
                    _record(conn, migration)
                applied_now.append(migration)
        finally:
            conn.execute_simple(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
    return applied_now


def _record(conn: CoreConnection, migration: Migration) -> None:
    conn.execute_unnamed(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        (migration.version, migration.name, migration.checksum),
    )


def _apply_in_transaction(conn: CoreConnection, migration: Migration) -> None:
    conn.execute_simple("BEGIN")
    try:
        conn.execute_simple(migration.sql)
        _record(conn, migration)
        conn.execute_simple("COMMIT")
    except BaseException:
        conn.execute_simple("ROLLBACK")
        raise
