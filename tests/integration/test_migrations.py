"""The migrations runner: checksums of applied files, and files that run outside a transaction.

Each test gets an empty database of its own on the test server and a folder of made-up
migration files, so that editing a "deployed" file is something a test can do.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from realm import db
from realm.db import Pool, migrate


@pytest.fixture
def pool() -> Iterator[Pool]:
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    with db.pool().connection() as conn:
        conn.execute_simple(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    fresh = Pool(db.connection_factory_for(url), 1)
    yield fresh
    fresh.close()


def _write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(sql, encoding="utf-8")


def _recorded(pool: Pool) -> list[tuple[int, str | None]]:
    with pool.reading() as tx:
        rows = tx.all("SELECT version, checksum FROM schema_migrations ORDER BY version")
    return [(r["version"], r["checksum"]) for r in rows]


def test_each_applied_migration_is_recorded_with_the_sha256_of_its_text(
    pool: Pool, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int);\n")
    applied = migrate.migrate(pool, tmp_path)
    assert [m.label for m in applied] == ["0001_things.sql"]
    assert _recorded(pool) == [(1, applied[0].checksum)]
    assert len(applied[0].checksum) == 64


def test_an_applied_migration_edited_afterwards_is_an_error_and_nothing_else_runs(
    pool: Pool, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int);\n")
    migrate.migrate(pool, tmp_path)
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id bigint);\n")
    _write(tmp_path, "0002_more.sql", "CREATE TABLE more (id int);\n")
    with pytest.raises(migrate.MigrationChanged, match=r"0001_things\.sql"):
        migrate.migrate(pool, tmp_path)
    assert [v for v, _ in _recorded(pool)] == [1]  # 0002 did not run either


def test_a_line_ending_change_is_not_an_edit(pool: Pool, tmp_path: Path) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int);\n")
    migrate.migrate(pool, tmp_path)
    (tmp_path / "0001_things.sql").write_bytes(b"CREATE TABLE things (id int);\r\n")
    assert migrate.migrate(pool, tmp_path) == []


def test_migrations_applied_before_checksums_existed_get_theirs_recorded_not_rejected(
    pool: Pool, tmp_path: Path
) -> None:
    """A database migrated by the runner of before (no checksum column) upgrades in place."""
    with pool.transaction() as tx:
        tx.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        tx.execute("CREATE TABLE things (id int)")
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'things')")
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int);\n")
    assert migrate.migrate(pool, tmp_path) == []
    [(version, checksum)] = _recorded(pool)
    assert version == 1
    assert checksum == migrate.available(tmp_path)[0].checksum


def test_a_file_can_opt_out_of_the_transaction_for_create_index_concurrently(
    pool: Pool, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int, name text);\n")
    _write(
        tmp_path,
        "0002_things_name.sql",
        "-- realm:no-transaction\n"
        "-- builds without blocking writes; repeatable after a failed build\n"
        "DROP INDEX CONCURRENTLY IF EXISTS things_name;\n"
        "CREATE INDEX CONCURRENTLY things_name ON things (name);  -- one statement per line end\n",
    )
    applied = migrate.migrate(pool, tmp_path)
    assert [m.in_transaction for m in applied] == [True, False]
    with pool.reading() as tx:
        valid = tx.scalar(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'things_name'::regclass"
        )
    assert valid is True
    assert [v for v, _ in _recorded(pool)] == [1, 2]


def test_the_same_index_in_a_transactional_file_is_refused_by_postgresql(
    pool: Pool, tmp_path: Path
) -> None:
    """Why the opt-out exists: without it, the file fails and is not recorded."""
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int, name text);\n")
    _write(tmp_path, "0002_idx.sql", "CREATE INDEX CONCURRENTLY things_name ON things (name);\n")
    with pytest.raises(Exception, match="cannot run inside a transaction block"):
        migrate.migrate(pool, tmp_path)
    assert [v for v, _ in _recorded(pool)] == [1]


def test_a_failing_no_transaction_file_is_not_recorded_and_runs_again_next_time(
    pool: Pool, tmp_path: Path
) -> None:
    _write(
        tmp_path,
        "0001_idx.sql",
        "-- realm:no-transaction\nCREATE INDEX CONCURRENTLY things_name ON things (name);\n",
    )
    with pytest.raises(Exception, match="things"):
        migrate.migrate(pool, tmp_path)
    assert _recorded(pool) == []
    _write(tmp_path, "0000_things.sql", "CREATE TABLE things (id int, name text);\n")
    assert [m.version for m in migrate.migrate(pool, tmp_path)] == [0, 1]


def test_statements_are_split_at_semicolons_that_end_a_line() -> None:
    migration = migrate.Migration(
        1, "x", "-- realm:no-transaction\nSELECT 'a;b';\n\n-- note\nSELECT 2; -- why\nSELECT 3"
    )
    assert migration.statements() == [
        "-- realm:no-transaction\nSELECT 'a;b'",
        "-- note\nSELECT 2",  # comments travel with the statement after them
        "SELECT 3",
    ]


def test_the_packaged_migrations_are_recorded_with_their_checksums() -> None:
    with db.pool().reading() as tx:
        recorded = {
            r["version"]: r["checksum"]
            for r in tx.all("SELECT version, checksum FROM schema_migrations")
        }
    assert recorded == {m.version: m.checksum for m in migrate.available()}
