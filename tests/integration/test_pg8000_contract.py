"""The pg8000 internals that realm.db.pool relies on, pinned down against the real server.

The pool prepares each statement once per connection and runs it through pg8000's core
methods (``prepare_statement`` / ``execute_named``), reads the server's transaction status from
``_transaction_status``, and maps errors by the SQLSTATE fields of ``DatabaseError.args[0]``.
None of that is pg8000's documented API, so an upgrade may change it: the lock file keeps the
version fixed, and when a dependency bot proposes a new one, these tests say what broke before
the pool does. docs/decisions/0003-own-pool-and-prepared-statements.md says why we do this.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pg8000.converters import make_params, timestamptz_in
from pg8000.core import CoreConnection
from pg8000.exceptions import DatabaseError
from pg8000.native import to_statement

from realm import db


@pytest.fixture
def conn() -> Iterator[CoreConnection]:
    with db.pool().connection() as connection:
        yield connection


def test_to_statement_turns_named_parameters_into_numbered_ones_and_orders_the_values() -> None:
    statement, make_values = to_statement("SELECT :b::int + :a::int, :b::int")
    assert statement == "SELECT $1::int + $2::int, $1::int"
    assert tuple(make_values({"a": 1, "b": 2})) == (2, 1)


def test_a_prepared_statement_runs_by_name_with_converted_parameters(conn: CoreConnection) -> None:
    statement, make_values = to_statement("SELECT :n::int * 2 AS doubled, :t::text AS t")
    name, columns, input_funcs = conn.prepare_statement(statement, ())
    assert name  # an opaque handle; the pool only hands it back
    assert [c["name"] for c in columns] == ["doubled", "t"]
    for n in (3, 4):  # the second run reuses the prepared statement: one round trip
        values = make_params(conn.py_types, make_values({"n": n, "t": "x"}))
        context = conn.execute_named(name, values, columns, input_funcs, statement)
        assert context.rows == [[n * 2, "x"]]
        assert context.columns[0]["name"] == "doubled"
    # row_count of a statement that changes rows is how Tx.execute counts them.
    conn.execute_simple("CREATE TEMP TABLE contract_t (x int)")
    statement, make_values = to_statement("INSERT INTO contract_t SELECT generate_series(1, :n)")
    name, columns, input_funcs = conn.prepare_statement(statement, ())
    values = make_params(conn.py_types, make_values({"n": 3}))
    context = conn.execute_named(name, values, columns, input_funcs, statement)
    assert context.row_count == 3
    assert context.rows is None
    conn.execute_simple("DROP TABLE contract_t")


def test_the_transaction_status_says_idle_in_transaction_and_failed(conn: CoreConnection) -> None:
    assert conn._transaction_status == b"I"
    conn.execute_simple("BEGIN")
    assert conn._transaction_status == b"T"
    with pytest.raises(DatabaseError):
        conn.execute_simple("SELECT 1/0")
    assert conn._transaction_status == b"E"
    conn.execute_simple("ROLLBACK")
    assert conn._transaction_status == b"I"


def _error_of(conn: CoreConnection, sql: str) -> dict[str, Any]:
    with pytest.raises(DatabaseError) as caught:
        conn.execute_simple(sql)
    detail = caught.value.args[0]
    assert isinstance(detail, dict)
    return detail


def test_database_errors_carry_sqlstate_message_and_constraint_name(conn: CoreConnection) -> None:
    conn.execute_simple("CREATE TEMP TABLE contract_u (x int CONSTRAINT contract_u_x UNIQUE)")
    conn.execute_simple("INSERT INTO contract_u VALUES (1)")
    unique = _error_of(conn, "INSERT INTO contract_u VALUES (1)")
    assert unique["C"] == "23505"
    assert unique["n"] == "contract_u_x"
    assert "duplicate key" in unique["M"]
    assert _error_of(conn, "SELECT 'x'::int")["C"].startswith("22")
    conn.execute_simple("DROP TABLE contract_u")


def test_an_input_adapter_replaces_pg8000s_parser_for_a_type(conn: CoreConnection) -> None:
    seen: list[str] = []

    def spy(text: str) -> str:
        seen.append(text)
        return text

    previous = conn.pg_types[1184]
    conn.register_in_adapter(1184, spy)
    try:
        conn.execute_simple("SELECT '2030-01-02 03:04:05+00'::timestamptz")
    finally:
        conn.register_in_adapter(1184, previous)
    assert seen
    assert seen[0].startswith("2030-01-02")
    # The pool's own parser falls back to this one for what fromisoformat cannot read.
    assert timestamptz_in("2030-01-02 03:04:05+00") == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_connection_takes_attributes_of_our_own(conn: CoreConnection) -> None:
    """Tx keeps its prepared statements in the connection's __dict__ (no __slots__ there)."""
    conn.__dict__.setdefault("_realm_contract", {})["k"] = 1
    assert conn.__dict__["_realm_contract"] == {"k": 1}
    del conn.__dict__["_realm_contract"]


def test_the_pool_runs_the_same_statement_twice_on_one_prepared_name() -> None:
    with db.pool().connection() as connection:
        tx = db.Tx(connection)
        assert tx.scalar("SELECT :x::int + 1", x=1) == 2
        prepared = connection.__dict__["_realm_prepared"]
        name_first = prepared["SELECT :x::int + 1"][0]
        assert tx.scalar("SELECT :x::int + 1", x=5) == 6
        assert prepared["SELECT :x::int + 1"][0] == name_first
