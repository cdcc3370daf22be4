"""Every list is one index range scan: no sequential scan and no sort, even for the busiest
guest and host, on a database big enough for the planner to choose freely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from realm import db
from realm.hosting import parties


@pytest.fixture(scope="module")
def populated() -> Iterator[None]:
    with db.transaction() as tx:
        tx.execute("TRUNCATE users, parties, invites, photos RESTART IDENTITY CASCADE")
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " SELECT 'u' || n, 'user' || n, 'User ' || n, 'u' || n || '@example.test'"
            " FROM generate_series(1, 5000) n"
        )
        tx.execute(
            "INSERT INTO parties (host_id, flat, first_entry)"
            " SELECT 1000 + (n % 5000), 'FLAT' || n, now() + (n - 1000) * interval '1 hour'"
            " FROM generate_series(1, 2500) n"
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
            " SELECT p.id, p.first_entry, 1000 + ((p.id * 7 + g) % 5000),"
            "        (ARRAY['invited', 'confirmed', 'declined'])[1 + g % 3]"
            " FROM parties p, generate_series(1, 20) g"
            " ON CONFLICT DO NOTHING"
        )
        # The busiest guest ('busy', invited to every party) and host (hosting 2000 parties).
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " VALUES ('busy', 'busy', 'Busy', 'busy@example.test')"
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
            " SELECT id, first_entry, (SELECT id FROM users WHERE auth_uid = 'busy'),"
            "        CASE WHEN id % 2 = 0 THEN 'invited' ELSE 'confirmed' END"
            " FROM parties"
        )
        tx.execute(
            "UPDATE parties SET host_id = (SELECT id FROM users WHERE auth_uid = 'busy')"
            " WHERE id % 5 <> 0"
        )
        tx.execute(
            "INSERT INTO photos (id, owner_id, content_type, bytes, sha256, original_key)"
            " SELECT gen_random_uuid(), id, 'image/jpeg', 1, repeat('0', 64), 'k'"
            " FROM users"
        )
        tx.execute("UPDATE users u SET photo_id = ph.id FROM photos ph WHERE ph.owner_id = u.id")
    with db.pool().connection() as conn:
        conn.execute_simple("ANALYZE")
    yield
    with db.transaction() as tx:
        tx.execute("TRUNCATE users, parties, invites, photos RESTART IDENTITY CASCADE")


def _plan(view: parties.View) -> dict[str, Any]:
    params: dict[str, Any] = {
        "uid": "busy",
        "after_start": datetime.fromisoformat("0001-01-01T00:00:00+00:00"),
        "after_id": 0,
        "limit": 21,
    }
    if view != "hosting":
        params["status"] = view
    with db.transaction() as tx:
        [row] = tx.all("EXPLAIN (FORMAT JSON) " + parties.list_sql(view), **params)
    plan = row["QUERY PLAN"]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("view", "index"),
    [
        ("invited", "invites_guest_list"),
        ("confirmed", "invites_guest_list"),
        ("hosting", "parties_host_list"),
    ],
)
def test_each_list_is_an_index_range_scan_without_a_sort(view: parties.View, index: str) -> None:
    nodes = list(_nodes(_plan(view)))
    kinds = {node["Node Type"] for node in nodes}
    assert "Seq Scan" not in kinds
    assert "Sort" not in kinds
    assert "Bitmap Heap Scan" not in kinds
    assert any(node.get("Index Name") == index and "Index Cond" in node for node in nodes)
