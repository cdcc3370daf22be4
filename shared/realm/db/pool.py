"""Database access: one connection factory, a thread-safe pool in global scope, transactions.

Locally and in tests the connection comes from ``DATABASE_URL``; in the cloud from the Cloud SQL
Python Connector with IAM database authentication (no password anywhere). Both yield a pg8000
connection, and the rest of the code never knows which.

SQL is written with ``:name`` placeholders and always sent with parameters.
"""

from __future__ import annotations

import select
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
from realm.db import guard
from realm.errors import DependencyUnavailable
from realm.process import Once

Row = dict[str, Any]
ConnectionFactory = Callable[[], CoreConnection]

# A connection idle longer than this is pinged before use: Cloud SQL and NAT paths drop idle
# TCP connections silently, and a request should not be the one to find out.
_PING_AFTER_IDLE_SECONDS = 60.0


def _closed_by_server(conn: CoreConnection) -> bool:
    """Whether an idle connection has something to read: the server only ever speaks to an
    idle session to end it (a FATAL on shutdown or restart, or the TCP close), so a readable
    idle socket is a dead connection. Costs no round trip."""
    try:
        readable, _, _ = select.select([conn._usock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _in_transaction(conn: CoreConnection) -> bool:
    # pg8000 tracks the server's ReadyForQuery status but exposes it only privately.
    return conn._transaction_status not in (None, b"I")


class DatabaseUnavailable(DependencyUnavailable):
    """PostgreSQL refused, dropped or did not answer a connection within its bound, cancelled a
    statement that ran past ``statement_timeout``, or is shutting down or starting up.

    ``broken``: the connection cannot be used again (the pool drops it). ``commit_unknown``:
    the connection was lost while COMMIT was on its way, so the transaction may or may not have
    committed; whoever cleans up after a failure must not assume it rolled back.
    """

    dependency = "postgresql"

    def __init__(self, message: str, *, broken: bool, commit_unknown: bool = False) -> None:
        super().__init__(message)
        self.broken = broken
        self.commit_unknown = commit_unknown


class PoolExhausted(DatabaseUnavailable):
    """Every connection stayed busy for the whole wait: the instance is overloaded."""

    dependency = "postgresql-pool"
    retry_after = 1

    def __init__(self, message: str) -> None:
        super().__init__(message, broken=False)


# SQLSTATEs that say "the server cannot serve this now", not "this request is wrong": a
# statement cancelled by statement_timeout (57014), the server shutting down or starting up
# (57P01-57P03), too many connections or other resource limits (class 53), connection failures
# (class 08), and the transaction conflicts a retry resolves (40001 serialization, 40P01
# deadlock). 25P03 is the session killed by idle_in_transaction_session_timeout.
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_TRANSIENT_CODES = {"40001", "40P01", "25P03"}
# After these the server has closed (or will close) the session.
_FATAL_CODES = {"57P01", "57P02", "57P03", "25P03"}


def _sqlstate(error: DatabaseError) -> tuple[str, dict[str, Any]]:
    """The SQLSTATE of ``error`` and the server's fields it came with (``M`` the message, ``n``
    the constraint), as pg8000 hands them over; "" and {} when the server sent none."""
    detail = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return str(detail.get("C", "")), detail


def _lost(error: BaseException) -> bool:
    """Whether pg8000 raised because the connection failed (refused, reset, timed out)."""
    if isinstance(error, OSError):
        return True
    if not isinstance(error, InterfaceError):
        return False
    message = str(error.args[0]) if error.args else ""
    return isinstance(error.__cause__, OSError) or message.startswith(
        ("network error", "communication error", "Can't create a connection")
    )


def unavailable(error: BaseException) -> DatabaseUnavailable | None:
    """The ``DatabaseUnavailable`` that ``error`` means, or None when it means something else
    (a bug, a constraint, bad input)."""
    if isinstance(error, DatabaseUnavailable):
        return error
    if _lost(error):
        cause = error.__cause__ or error
        return DatabaseUnavailable(
            f"connection lost: {type(cause).__name__}: {cause}".rstrip(": "), broken=True
        )
    if isinstance(error, DatabaseError):
        code, detail = _sqlstate(error)
        if code.startswith(_UNAVAILABLE_CLASSES) or code in _TRANSIENT_CODES:
            return DatabaseUnavailable(
                f"{code}: {detail.get('M', '')}",
                broken=code in _FATAL_CODES or code.startswith("08"),
            )
    return None


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


def _startup_params(config: Settings) -> dict[str, str]:
    """Session settings sent with the connection's startup message (no extra round trip)."""
    return {
        # Statements are prepared once per connection (see Tx._run). Left to itself,
        # PostgreSQL re-plans a prepared list query on every execution (its custom plan looks
        # cheaper than the generic one), which was a fifth of the list's time; every query here
        # is driven by an index whatever its parameters, so the generic plan is the right one.
        "plan_cache_mode": "force_generic_plan",
        # A generic plan is costed without its parameters, and a query with a few correlated
        # subqueries (find-users) can then look expensive enough for JIT compilation (25 ms, on
        # every execution, of a 1 ms search) and for parallel workers (30 ms to start two). No
        # query here reads enough rows to gain from either.
        "jit": "off",
        "max_parallel_workers_per_gather": "0",
        # The server's own bounds: a statement that runs too long is cancelled (SQLSTATE
        # 57014, the connection stays usable), and a session left idle inside a transaction is
        # ended, so that a stuck client cannot hold locks (no request should ever do that:
        # realm.db.guard).
        "statement_timeout": str(config.bounds.db_statement_ms),
        "idle_in_transaction_session_timeout": str(config.bounds.db_idle_in_transaction_ms),
    }


def _prepare(conn: CoreConnection, config: Settings) -> CoreConnection:
    conn.register_in_adapter(_TIMESTAMPTZ_OID, _timestamptz)
    # The connect timeout covered the TCP connect and the startup exchange; from now on every
    # read and write is bounded by the socket timeout, which is what turns a frozen server
    # into an error instead of a hung request.
    conn._usock.settimeout(config.bounds.db_socket_seconds)
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


def _url_factory(url: str, config: Settings = settings) -> ConnectionFactory:
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
        timeout=config.bounds.db_connect_seconds,
        ssl_context=_ssl_context(host, parse_qs(parts.query).get("sslmode", [None])[0]),
        startup_params=_startup_params(config),
    )

    def connect() -> CoreConnection:
        return _prepare(Connection(**options), config)

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
        refresh_strategy="lazy",
        ip_type=IPTypes[config.db_ip_type],
        enable_iam_auth=True,
        # The whole connect (certificate refresh, TLS, startup) within the connect bound.
        timeout=max(1, round(config.bounds.db_connect_seconds)),
    )

    def connect() -> CoreConnection:
        conn: CoreConnection = connector.connect(
            instance,
            "pg8000",
            user=config.db_user,
            db=config.db_name,
            startup_params=_startup_params(config),
        )
        return _prepare(conn, config)

    return connect


def connection_factory_for(url: str, config: Settings = settings) -> ConnectionFactory:
    """A factory for a plain PostgreSQL URL (local runs, tests, tools)."""
    return _url_factory(url, config)


def connection_factory(config: Settings = settings) -> ConnectionFactory:
    if config.database_url is not None:
        return _url_factory(config.database_url, config)
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
            code, detail = _sqlstate(error)
            down = unavailable(error)
            if down is not None:
                raise down from error
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

    def __init__(self, factory: ConnectionFactory, size: int, wait_seconds: float = 3.0) -> None:
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
            except BaseException as error:
                self._forget()
                down = unavailable(error)
                if down is not None:
                    raise down from error
                raise
        if _closed_by_server(idle.conn):
            # After a restart of PostgreSQL every pooled connection is dead: found here, each
            # is replaced before a request uses it, instead of failing one request each.
            self._discard(idle.conn)
            return self._checkout()
        if time.monotonic() - idle.since > _PING_AFTER_IDLE_SECONDS:
            try:
                idle.conn.execute_simple("SELECT 1")
            except (InterfaceError, OSError, DatabaseError):
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
        """A connection for the block; held by this thread until the block ends (which is what
        ``realm.db.guard`` counts). A lost connection is dropped and raised as
        ``DatabaseUnavailable``; any other failure rolls back what the block left open."""
        conn = self._checkout()
        guard.checked_out()
        try:
            yield conn
        except BaseException as error:
            down = unavailable(error)
            if down is not None and down.broken:
                self._discard(conn)
                if down is error:
                    raise
                raise down from error
            if _in_transaction(conn):
                try:
                    conn.execute_simple("ROLLBACK")
                except (InterfaceError, OSError) as lost:
                    self._discard(conn)
                    raise (unavailable(lost) or lost) from error
            self._checkin(conn)
            if down is not None and down is not error:
                raise down from error
            raise
        else:
            self._checkin(conn)
        finally:
            guard.checked_in()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Commits when the block ends normally, rolls back when it raises."""
        with self.connection() as conn:
            conn.execute_simple("BEGIN")
            yield Tx(conn)
            try:
                conn.execute_simple("COMMIT")
            except (InterfaceError, OSError) as error:
                if not _lost(error):
                    raise
                # The COMMIT may have reached the server before the connection went.
                raise DatabaseUnavailable(
                    f"connection lost during COMMIT: {error.__cause__ or error}",
                    broken=True,
                    commit_unknown=True,
                ) from error

    @contextmanager
    def unbounded(self) -> Iterator[CoreConnection]:
        """A connection without the statement and socket timeouts, for the few jobs that may
        legitimately take long: migrations (an index build, waiting for the migration lock),
        the seed, benchmark fills. Never for a request."""
        with self.connection() as conn:
            conn.execute_simple("SET statement_timeout = 0")
            # The bound this connection was made with (its pool's configuration, which need
            # not be the process's settings), put back when the block ends.
            socket_bound = conn._usock.gettimeout()
            conn._usock.settimeout(None)
            try:
                yield conn
            finally:
                with suppress(Exception):  # a connection lost meanwhile is dropped anyway
                    conn._usock.settimeout(socket_bound)
                    conn.execute_simple("RESET statement_timeout")

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


_pool: Once[Pool] = Once(
    lambda: Pool(connection_factory(), settings.db_pool_size, settings.bounds.db_pool_wait_seconds)
)


def pool() -> Pool:
    """The process-wide pool, created on first use and reused by every request after."""
    return _pool.get()


def transaction() -> AbstractContextManager[Tx]:
    """``with transaction() as tx:`` on the process-wide pool."""
    return pool().transaction()


def reading() -> AbstractContextManager[Tx]:
    """``with reading() as tx:`` on the process-wide pool: see ``Pool.reading``."""
    return pool().reading()
