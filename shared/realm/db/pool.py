"""Database access: one connection factory, a thread-safe pool in global scope, transactions.

Locally and in tests the connection comes from ``DATABASE_URL``; in the cloud from the Cloud SQL
Python Connector with IAM database authentication (no password anywhere). Both yield a pg8000
connection, and the rest of the code never knows which.

SQL is written with ``:name`` placeholders and always sent with parameters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pg8000.converters import make_params, timestamptz_in
from pg8000.core import CoreConnection
from pg8000.exceptions import DatabaseError, InterfaceError
from pg8000.native import to_statement

from realm.config import Settings, settings
from realm.process import Once

Row = dict[str, Any]
ConnectionFactory = Callable[[], CoreConnection]

# A connection idle longer than this is pinged before use: Cloud SQL and NAT paths drop idle
# TCP connections silently, and a request should not be the one to find out.
_PING_AFTER_IDLE_SECONDS = 60.0


def _in_transaction(conn: CoreConnection) -> bool:
    # pg8000 tracks the server's ReadyForQuery status but exposes it only privately.
    return conn._transaction_status not in (None, b"I")


class PoolExhausted(Exception):
    """Every connection stayed busy for the whole wait: the instance is overloaded."""


class DataRejected(Exception):
    """PostgreSQL refused a value (SQLSTATE class 22 or 23): bad input, not a server fault."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate


class UniqueViolation(Exception):
    """An INSERT or UPDATE hit a unique constraint; ``constraint`` names it."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


_TIMESTAMPTZ_OID = 1184


def _timestamptz(text: str) -> Any:
    # pg8000 parses with strptime, a third of a millisecond per row on the list path;
    # fromisoformat reads PostgreSQL's ISO output directly. The rare value it cannot read
    # (infinity, years beyond 9999) goes to pg8000's own parser.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return timestamptz_in(text)


def _prepare(conn: CoreConnection) -> CoreConnection:
    conn.register_in_adapter(_TIMESTAMPTZ_OID, _timestamptz)
    # Statements are prepared once per connection (see Tx._run). Left to itself, PostgreSQL
    # re-plans a prepared list query on every execution (its custom plan looks cheaper than
    # the generic one), which was a fifth of the list's time; every query here is driven by an
    # index whatever its parameters, so the generic plan is the right one.
    # A generic plan is costed without its parameters, and a query with a few correlated
    # subqueries (find-users) can then look expensive enough for JIT compilation (25 ms, on
    # every execution, of a 1 ms search) and for parallel workers (30 ms to start two). No
    # query here reads enough rows to gain from either.
    conn.execute_simple(
        "SET plan_cache_mode = force_generic_plan; SET jit = off;"
        " SET max_parallel_workers_per_gather = 0"
    )
    return conn


@lru_cache(maxsize=256)
def _statement(sql: str) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    statement, make_values = to_statement(sql)
    return statement, make_values


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _ssl_context(host: str, sslmode: str | None) -> Any:
    """TLS for a DATABASE_URL connection, by its ``sslmode`` (as libpq reads it).

    Without one: none on loopback (the private local server has no TLS, and pg8000's default,
    an unverified attempt, costs 50 ms of loading CA certificates per connection) and a
    verified one anywhere else.
    """
    mode = sslmode or ("disable" if host in _LOOPBACK else "verify-full")
    if mode == "disable":
        return False
    import ssl

    if mode == "require":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()  # verify-full (the configuration allows no other)


def _url_factory(url: str) -> ConnectionFactory:
    from pg8000.native import Connection

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    options = dict(
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        host=host,
        port=parts.port or 5432,
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
        application_name="realm",
        timeout=30,
        ssl_context=_ssl_context(host, parse_qs(parts.query).get("sslmode", [None])[0]),
    )

    def connect() -> CoreConnection:
        return _prepare(Connection(**options))

    return connect


def _cloud_sql_factory(config: Settings) -> ConnectionFactory:
    # Imported here: only cloud processes carry the connector, and only they pay its import.
    from google.cloud.sql.connector import Connector, IPTypes

    instance = config.db_instance
    assert instance is not None

    # Lazy refresh: a function instance may be frozen between requests, so background refresh
    # tasks would be starved; refreshing when a connection is made is the documented choice.
    # The public IP admits no network at all (no authorized networks); only the connector's
    # mTLS with an ephemeral certificate for this IAM identity gets in, so no VPC is needed.
    connector = Connector(
        refresh_strategy="lazy", ip_type=IPTypes[config.db_ip_type], enable_iam_auth=True
    )

    def connect() -> CoreConnection:
        conn: CoreConnection = connector.connect(
            instance, "pg8000", user=config.db_user, db=config.db_name
        )
        return _prepare(conn)

    return connect


def connection_factory_for(url: str) -> ConnectionFactory:
    """A factory for a plain PostgreSQL URL (local runs, tests, tools)."""
    return _url_factory(url)


def connection_factory(config: Settings = settings) -> ConnectionFactory:
    if config.database_url is not None:
        return _url_factory(config.database_url)
    if config.db_instance is not None:
        return _cloud_sql_factory(config)
    raise RuntimeError(
        "DATABASE_URL: not set (and no REALM_DB_INSTANCE); `make run` and `make test` set it"
    )


class Tx:
    """The statements of one open transaction on one connection."""

    def __init__(self, conn: CoreConnection) -> None:
        self._conn = conn

    def _run(self, sql: str, params: dict[str, Any]) -> Any:
        # Each statement is prepared once per connection, so that running it again is one
        # round trip (bind + execute) instead of two (parse + describe, then bind + execute).
        prepared: dict[str, Any] = self._conn.__dict__.setdefault("_realm_prepared", {})
        entry = prepared.get(sql)
        try:
            if entry is None:
                statement, make_values = _statement(sql)
                name, columns, input_funcs = self._conn.prepare_statement(statement, ())
                entry = prepared[sql] = (name, columns, input_funcs, statement, make_values)
            name, columns, input_funcs, statement, make_values = entry
            values = make_params(self._conn.py_types, make_values(params))
            return self._conn.execute_named(name, values, columns, input_funcs, statement)
        except DatabaseError as error:
            detail = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
            code = str(detail.get("C", ""))
            if code == "23505":
                raise UniqueViolation(detail.get("n", "")) from error
            if code.startswith(("22", "23")):
                # A data exception or a check constraint: input the models let through but
                # the schema refuses. The models should have caught it; this keeps it a 4xx.
                raise DataRejected(code, str(detail.get("M", ""))) from error
            raise

    def all(self, sql: str, **params: Any) -> list[Row]:
        context = self._run(sql, params)
        if context.rows is None:
            return []
        names = [column["name"] for column in context.columns]
        return [dict(zip(names, row, strict=True)) for row in context.rows]

    def one(self, sql: str, **params: Any) -> Row | None:
        rows = self.all(sql, **params)
        return rows[0] if rows else None

    def scalar(self, sql: str, **params: Any) -> Any:
        context = self._run(sql, params)
        return context.rows[0][0] if context.rows else None

    def execute(self, sql: str, **params: Any) -> int:
        context = self._run(sql, params)
        return int(context.row_count or 0)


@dataclass
class _Idle:
    conn: CoreConnection
    since: float


class Pool:
    """A bounded, thread-safe pool: gen2 instances serve several requests at once.

    Connections are opened on demand up to ``size``; the most recently used one is handed out
    first so that idle ones age out together.
    """

    def __init__(self, factory: ConnectionFactory, size: int, wait_seconds: float = 10.0) -> None:
        self._factory = factory
        self._size = size
        self._wait = wait_seconds
        self._idle: list[_Idle] = []
        self._open = 0
        self._cond = threading.Condition()

    def _checkout(self) -> CoreConnection:
        deadline = time.monotonic() + self._wait
        idle: _Idle | None
        with self._cond:
            while True:
                if self._idle:
                    idle = self._idle.pop()
                    break
                if self._open < self._size:
                    self._open += 1
                    idle = None
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolExhausted(f"no database connection free within {self._wait}s")
                self._cond.wait(remaining)
        if idle is None:
            try:
                return self._factory()
            except BaseException:
                self._forget()
                raise
        if time.monotonic() - idle.since > _PING_AFTER_IDLE_SECONDS:
            try:
                idle.conn.execute_simple("SELECT 1")
            except (InterfaceError, OSError):
                self._discard(idle.conn)
                return self._checkout()
        return idle.conn

    def _forget(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def _discard(self, conn: CoreConnection) -> None:
        # The connection is already broken; closing it is a courtesy that may fail too.
        with suppress(Exception):
            conn.close()
        self._forget()

    def _checkin(self, conn: CoreConnection) -> None:
        with self._cond:
            self._idle.append(_Idle(conn, time.monotonic()))
            self._cond.notify()

    @contextmanager
    def connection(self) -> Iterator[CoreConnection]:
        conn = self._checkout()
        try:
            yield conn
        except (InterfaceError, OSError):
            self._discard(conn)
            raise
        except BaseException:
            if _in_transaction(conn):
                try:
                    conn.execute_simple("ROLLBACK")
                except (InterfaceError, OSError):
                    self._discard(conn)
                    raise
            self._checkin(conn)
            raise
        self._checkin(conn)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Commits when the block ends normally, rolls back when it raises."""
        with self.connection() as conn:
            conn.execute_simple("BEGIN")
            yield Tx(conn)
            conn.execute_simple("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """Statements that each run on their own (autocommit), for a read that is a single
        statement: no BEGIN and COMMIT round trips around it."""
        with self.connection() as conn:
            yield Tx(conn)

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for item in idle:
            item.conn.close()


_pool: Once[Pool] = Once(lambda: Pool(connection_factory(), settings.db_pool_size))


def pool() -> Pool:
    """The process-wide pool, created on first use and reused by every request after."""
    return _pool.get()


def transaction() -> AbstractContextManager[Tx]:
    """``with transaction() as tx:`` on the process-wide pool."""
    return pool().transaction()


def reading() -> AbstractContextManager[Tx]:
    """``with reading() as tx:`` on the process-wide pool: see ``Pool.reading``."""
    return pool().reading()
