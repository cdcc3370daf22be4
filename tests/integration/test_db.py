import os
import subprocess
import sys
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from realm import db
from realm.db import Pool, PoolExhausted, migrate


@pytest.fixture
def fresh_database_url() -> str:
    """A new, empty database on the test server."""
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    with db.pool().connection() as conn:
        conn.execute_simple(f'CREATE DATABASE "{name}"')
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path=f"/{name}"))


def _migrate_in_a_process(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "realm.cli", "migrate"],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_migrations_run_from_two_processes_at_once_apply_each_once(fresh_database_url: str) -> None:
    first, second = (
        _migrate_in_a_process(fresh_database_url),
        _migrate_in_a_process(fresh_database_url),
    )
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    pool = Pool(db.connection_factory_for(fresh_database_url), 1)
    with pool.transaction() as tx:
        versions = [
            row["version"]
            for row in tx.all("SELECT version FROM schema_migrations ORDER BY version")
        ]
    assert versions == [m.version for m in migrate.available()]
    assert migrate.migrate(pool) == []  # and a third run finds nothing to do
    pool.close()


def _insert_a_ghost_then_fail() -> None:
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES ('ghost', 'ghost', 'Ghost', 'ghost@example.test')"
        )
        raise RuntimeError("boom")


def test_a_transaction_that_raises_leaves_nothing_behind() -> None:
    with pytest.raises(RuntimeError):
        _insert_a_ghost_then_fail()
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM users WHERE auth_uid = 'ghost'") == 0


def test_the_pool_never_opens_more_connections_than_its_size() -> None:
    pool = Pool(db.connection_factory_for(os.environ["DATABASE_URL"]), 3)
    backends: set[int] = set()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                with pool.transaction() as tx:
                    backends.add(tx.scalar("SELECT pg_backend_pid()"))
                    tx.scalar("SELECT pg_sleep(0.001)")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()
    assert errors == []
    assert 1 <= len(backends) <= 3


def test_a_caller_waits_only_so_long_for_a_busy_pool() -> None:
    pool = Pool(db.connection_factory_for(os.environ["DATABASE_URL"]), 1, wait_seconds=0.2)
    with pool.connection(), pytest.raises(PoolExhausted), pool.connection():
        pass
    pool.close()


def test_a_broken_connection_is_replaced_not_reused() -> None:
    pool = Pool(db.connection_factory_for(os.environ["DATABASE_URL"]), 1)
    first = None

    def broken_while_in_use() -> None:
        nonlocal first
        with pool.transaction() as tx:
            first = tx.scalar("SELECT pg_backend_pid()")
            with db.transaction() as admin:
                admin.scalar("SELECT pg_terminate_backend(:pid)", pid=first)
            tx.scalar("SELECT 1")

    with pytest.raises(db.DatabaseUnavailable):
        broken_while_in_use()
    with pool.transaction() as tx:
        assert tx.scalar("SELECT pg_backend_pid()") != first
    pool.close()
