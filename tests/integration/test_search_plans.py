"""find-users at 100k users: one range of the search index per page, whatever the query, never a
scan or a sort of everyone who matches (DESIGN §12). The plans are the generic plans the
functions run (plan_cache_mode = force_generic_plan), executed with the parameters they send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pg8000.native import literal, to_statement

from realm import db
from realm.devstack import synthetic
from realm.people import search

USERS = 100_000
LIMIT = 20
CALLER = "synthetic5"


@pytest.fixture(scope="module")
def populated() -> Iterator[None]:
    # 100k users in a few statements: longer than a request's statement bound may take.
    with db.pool().unbounded() as conn:
        conn.execute_simple("BEGIN")
        tx = db.Tx(conn)
        tx.execute("TRUNCATE users, parties, invites, photos RESTART IDENTITY CASCADE")
        synthetic.add_users(tx, USERS)
        # The caller has blocked some users and been blocked by others; a tenth have photos.
        tx.execute(
            "WITH caller AS (SELECT id FROM users WHERE auth_uid = :caller)"
            " INSERT INTO blocks (blocker_id, blocked_id)"
            " SELECT caller.id, u.id FROM users u, caller WHERE u.id % 97 = 0"
            " UNION ALL SELECT u.id, caller.id FROM users u, caller WHERE u.id % 89 = 0",
            caller=CALLER,
        )
        tx.execute(
            "INSERT INTO photos (id, owner_id, content_type, bytes, sha256, original_key)"
            " SELECT gen_random_uuid(), id, 'image/jpeg', 1, repeat('0', 64), 'k'"
            " FROM users WHERE id % 10 = 0"
        )
        tx.execute("UPDATE users u SET photo_id = ph.id FROM photos ph WHERE ph.owner_id = u.id")
        conn.execute_simple("COMMIT")
    with db.pool().connection() as conn:
        conn.execute_simple("VACUUM ANALYZE")
    yield
    with db.transaction() as tx:
        tx.execute("TRUNCATE users, parties, invites, photos RESTART IDENTITY CASCADE")


def _plan(q: str, cursor: str | None = None) -> dict[str, Any]:
    """The plan the function runs: its statement prepared, then executed with the parameters
    it sends. (EXPLAIN of the statement with its parameters would show a custom plan instead,
    made for those values.)"""
    statement, values = to_statement(search.sql_for(q))
    arguments = values(search.params(CALLER, q, limit=LIMIT, cursor=cursor))
    with db.pool().connection() as conn:
        conn.execute_simple(f"PREPARE find_users AS {statement}")
        try:
            rows = conn.execute_simple(
                "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE find_users("
                + ", ".join("NULL" if value is None else literal(value) for value in arguments)
                + ")"
            ).rows
        finally:
            conn.execute_simple("DEALLOCATE find_users")
    plan = rows[0][0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _nodes(
    plan: dict[str, Any], sorted_above: bool = False
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every node, with whether a Sort above it would sort all it yields (no Limit between)."""
    yield plan, sorted_above
    if plan["Node Type"] == "Sort":
        sorted_above = True
    elif plan["Node Type"] == "Limit":
        sorted_above = False
    for child in plan.get("Plans", []):
        yield from _nodes(child, sorted_above)


def _deep_cursor(q: str, pages: int) -> str | None:
    cursor = None
    with db.transaction() as tx:
        for _ in range(pages):
            cursor = search.find(tx, CALLER, q, limit=LIMIT, cursor=cursor).next_cursor
            assert cursor is not None
    return cursor


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("q", "pages_in"),
    [
        ("zo", 0),  # a first name: 3,333 users
        ("synthetic", 0),  # every handle: 100,000 users
        ("synthetic", 40),  # ... 40 pages in
        ("angs", 0),  # a last name, folded: Ångström
        ("synthetic77", 0),  # an exact handle and its prefixes
        ("zoe sm", 0),  # several words
        ("qqq", 0),  # nobody
    ],
)
def test_a_page_is_one_range_of_the_search_index_at_100k_users(q: str, pages_in: int) -> None:
    cursor = _deep_cursor(q, pages_in) if pages_in else None

    nodes = list(_nodes(_plan(q, cursor)))

    scans = [n for n, _ in nodes if n.get("Index Name") == "user_search_terms_find"]
    # One scan for the page; a query of several words also counts the terms each word starts
    # (to choose the one that leads), and may look for where the next page starts.
    assert len(scans) == 1 or (search.several_words(q) and len(scans) <= 4)
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan")
        assert "Index Cond" in scan, "the query's prefix bounds the scan"
        assert not any(above for n, above in nodes if n is scan), "a sort of all"
        # Read: a page and what the filters skip (the caller, blocks, users met before), or
        # the budget of a query of several words; never everyone who matches.
        most = search.BUDGET if search.several_words(q) else 3 * (LIMIT + 1)
        assert scan["Actual Rows"] <= most, "rows read per loop (a loop per word counted)"
    seq_scanned = {n.get("Relation Name") for n, _ in nodes if n["Node Type"] == "Seq Scan"}
    assert not seq_scanned & {"users", "user_search_terms", "photos"}, seq_scanned
    # A bitmap reads its whole range before any LIMIT applies. (The caller's blocks may be read
    # by one: they are few, and all of them are needed.)
    bitmaps = {n.get("Index Name") for n, _ in nodes if n["Node Type"] == "Bitmap Index Scan"}
    assert bitmaps <= {"blocks_pkey", "blocks_blocked"}, bitmaps
