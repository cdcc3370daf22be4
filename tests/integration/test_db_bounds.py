"""PostgreSQL within bounds: a server that refuses, does not answer, runs a statement too long
or leaves a transaction idle costs a known time and ends in ``DatabaseUnavailable`` (the API's
503), never in a hung request or a 500.

The bounds here are short so that the tests are quick; each assertion on time allows several
times the bound, because this machine's two cores are shared with other test runs.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from realm import db
from realm.config import Bounds, settings
from realm.db import DatabaseUnavailable, Pool

SLACK_SECONDS = 3.0


def pool_with(url: str | None = None, size: int = 2, **bounds: Any) -> Pool:
    short: dict[str, Any] = {"db_connect_seconds": 1, "db_socket_seconds": 2, **bounds}
    config = dataclasses.replace(settings, bounds=dataclasses.replace(Bounds(), **short))
    factory = db.connection_factory_for(url or os.environ["DATABASE_URL"], config)
    return Pool(factory, size, wait_seconds=0.2)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never says a word: a frozen PostgreSQL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    url = urlsplit_replace(os.environ["DATABASE_URL"], port)
    yield url
    listener.close()


def urlsplit_replace(url: str, port: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def timed(call: object) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except BaseException as error:
        return error, time.monotonic() - started
    return None, time.monotonic() - started


def test_a_server_that_refuses_connections_is_unavailable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pool = pool_with(urlsplit_replace(os.environ["DATABASE_URL"], closed_port))

    def connect() -> None:
        with pool.reading() as tx:
            tx.scalar("SELECT 1")

    error, seconds = timed(connect)

    assert isinstance(error, DatabaseUnavailable), error
    assert seconds < SLACK_SECONDS


def test_a_server_that_never_answers_is_unavailable_within_the_connect_bound(
    silent_server: str,
) -> None:
    pool = pool_with(silent_server, db_connect_seconds=0.5)

    def connect() -> None:
        with pool.reading() as tx:
            tx.scalar("SELECT 1")

    error, seconds = timed(connect)

    assert isinstance(error, DatabaseUnavailable), error
    assert 0.4 < seconds < 0.5 + SLACK_SECONDS


def test_a_statement_past_the_statement_timeout_is_cancelled_and_the_connection_kept() -> None:
    pool = pool_with(size=1, db_statement_ms=300)
    with pool.reading() as tx:
        backend = tx.scalar("SELECT pg_backend_pid()")

    def slow() -> None:
        with pool.transaction() as tx:
            tx.scalar("SELECT pg_sleep(5)")

    error, seconds = timed(slow)

    assert isinstance(error, DatabaseUnavailable), error
    assert not error.broken
    assert "57014" in str(error)
    assert seconds < 0.3 + SLACK_SECONDS
    with pool.reading() as tx:
        assert tx.scalar("SELECT pg_backend_pid()") == backend, "the connection was kept"
    pool.close()


def test_a_session_idle_in_a_transaction_too_long_is_ended_by_the_server() -> None:
    pool = pool_with(size=1, db_idle_in_transaction_ms=300)

    def idle() -> None:
        with pool.transaction() as tx:
            tx.scalar("SELECT 1")
            time.sleep(1.0)
            tx.scalar("SELECT 2")

    error, _ = timed(idle)

    assert isinstance(error, DatabaseUnavailable), error
    assert error.broken
    with pool.reading() as tx:
        assert tx.scalar("SELECT 3") == 3, "a new connection replaced the ended one"
    pool.close()


def test_a_server_that_stops_answering_mid_session_is_unavailable_within_the_socket_bound() -> None:
    """A backend stopped with SIGSTOP stands for a frozen server; here the same silence comes
    from a lock the statement waits on while statement_timeout is off (0), so that only the
    socket timeout can end the wait."""
    pool = pool_with(size=1, db_statement_ms=0, db_socket_seconds=0.5)
    holder = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with db.transaction() as tx:
            tx.scalar("SELECT pg_advisory_xact_lock(424242)")
            holder.set()
            release.wait(10)

    locker = threading.Thread(target=hold_lock)
    locker.start()
    holder.wait(5)
    try:

        def blocked() -> None:
            with pool.reading() as tx:
                tx.scalar("SELECT pg_advisory_lock(424242)")

        error, seconds = timed(blocked)
    finally:
        release.set()
        locker.join()

    assert isinstance(error, DatabaseUnavailable), error
    assert error.broken, "a connection that timed out mid-statement is not reused"
    assert seconds < 0.5 + SLACK_SECONDS
    with pool.reading() as tx:
        assert tx.scalar("SELECT 1") == 1
    pool.close()


def test_a_busy_pool_is_unavailable_after_its_wait() -> None:
    pool = pool_with(size=1)
    with pool.connection():
        error, seconds = timed(lambda: pool.connection().__enter__())
    assert isinstance(error, db.PoolExhausted)
    assert isinstance(error, DatabaseUnavailable), "a busy pool is a 503 like the rest"
    assert seconds < 0.2 + SLACK_SECONDS
    pool.close()


def test_a_lost_commit_says_its_outcome_is_unknown() -> None:
    pool = pool_with(size=1)
    with pool.reading() as tx:
        backend = tx.scalar("SELECT pg_backend_pid()")

    def commit_after_the_connection_is_gone() -> None:
        with pool.transaction() as tx:
            tx.scalar("SELECT 1")
            with db.transaction() as admin:
                admin.scalar("SELECT pg_terminate_backend(:pid)", pid=backend)

    error, _ = timed(commit_after_the_connection_is_gone)

    assert isinstance(error, DatabaseUnavailable), error
    assert error.commit_unknown
    pool.close()


def test_a_pooled_connection_the_server_ended_is_replaced_before_anyone_uses_it() -> None:
    pool = pool_with(size=1)
    with pool.reading() as tx:
        ended = tx.scalar("SELECT pg_backend_pid()")
    with db.transaction() as admin:
        admin.scalar("SELECT pg_terminate_backend(:pid)", pid=ended)
    time.sleep(0.2)  # the server's goodbye reaches the idle socket

    with pool.reading() as tx:
        assert tx.scalar("SELECT pg_backend_pid()") != ended, "no request sees the dead one"
    pool.close()


def test_an_unbounded_block_gives_the_connection_its_own_socket_bound_back() -> None:
    pool = pool_with(size=1, db_socket_seconds=7)
    assert settings.bounds.db_socket_seconds != 7, "the pool's bound must differ from the process's"

    with pool.unbounded() as conn:
        assert conn._usock.gettimeout() is None
    with pool.connection() as conn:
        assert conn._usock.gettimeout() == 7, "the pool's bound, not the process's"
    pool.close()
