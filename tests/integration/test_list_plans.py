"""Every list is one index range scan: no sequential scan and no sort, even for the busiest
guest, host and party, on a database big enough for the planner to choose freely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from realm import db
from realm.hosting import calendar, guests, parties


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
            "        (ARRAY['invited', 'confirmed', 'declined', 'waitlisted'])[1 + g % 4]"
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
            "        (ARRAY['invited', 'confirmed', 'waitlisted'])[1 + id % 3]"
            " FROM parties"
        )
        tx.execute(
            "UPDATE parties SET host_id = (SELECT id FROM users WHERE auth_uid = 'busy')"
            " WHERE id % 5 <> 0"
        )
        # ... and co-hosts 200 more; the busiest party (1500) has every user invited.
        tx.execute(
            "INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)"
            " SELECT id, first_entry, (SELECT id FROM users WHERE auth_uid = 'busy'), 'cohost'"
            " FROM parties WHERE id % 5 = 0 AND id % 2 = 0"
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
            " SELECT p.id, p.first_entry, u.id,"
            "        (ARRAY['invited', 'confirmed', 'declined', 'waitlisted'])[1 + u.id % 4]"
            " FROM parties p, users u WHERE p.id = :busiest"
            " ON CONFLICT DO NOTHING",
            busiest=BUSIEST_PARTY,
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


BUSIEST_PARTY = 1500


def _explain(sql: str, **params: Any) -> dict[str, Any]:
    with db.transaction() as tx:
        [row] = tx.all("EXPLAIN (FORMAT JSON) " + sql, **params)
    plan = row["QUERY PLAN"]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _plan(view: parties.View) -> dict[str, Any]:
    params: dict[str, Any] = {
        "uid": "busy",
        "after_start": datetime.fromisoformat("0001-01-01T00:00:00+00:00"),
        "after_id": 0,
        "limit": 21,
    }
    if view != "hosting":
        params["status"] = view
    return _explain(parties.list_sql(view), **params)


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
        ("hosting", "party_hosts_list"),
    ],
)
def test_each_list_is_an_index_range_scan_without_a_sort(view: parties.View, index: str) -> None:
    nodes = list(_nodes(_plan(view)))
    kinds = {node["Node Type"] for node in nodes}
    assert "Seq Scan" not in kinds
    assert "Sort" not in kinds
    assert "Bitmap Heap Scan" not in kinds
    assert any(node.get("Index Name") == index and "Index Cond" in node for node in nodes)


def _one_range_scan(plan: dict[str, Any], index: str) -> None:
    nodes = list(_nodes(plan))
    kinds = {node["Node Type"] for node in nodes}
    assert "Seq Scan" not in kinds
    assert "Sort" not in kinds
    assert "Bitmap Heap Scan" not in kinds
    assert any(node.get("Index Name") == index and "Index Cond" in node for node in nodes)


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize("status", [None, "invited", "confirmed", "declined", "waitlisted"])
def test_the_guest_list_of_the_busiest_party_is_one_range_scan_without_a_sort(
    status: guests.Status | None,
) -> None:
    params: dict[str, Any] = {"party": BUSIEST_PARTY, "after_seq": 0, "limit": 51}
    if status is None:
        params["after_status"] = ""
    else:
        params["status"] = status
    _one_range_scan(_explain(guests.list_sql(status), **params), "invites_party_guests")


@pytest.mark.usefixtures("populated")
def test_a_party_s_details_and_counts_read_only_the_party_s_range_of_invites() -> None:
    plan = _explain(parties._DETAIL, uid="busy", party=BUSIEST_PARTY)
    nodes = list(_nodes(plan))
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}
    on_invites = [n for n in nodes if n.get("Index Name", "").startswith("invites_party")]
    assert on_invites, "the counts come from an index on the party's invites"
    assert all("party_id" in n["Index Cond"] for n in on_invites)


@pytest.mark.usefixtures("populated")
def test_the_calendar_feed_reads_the_owner_s_two_ranges_of_the_list_indexes() -> None:
    with db.transaction() as tx:
        busy = tx.scalar("SELECT id FROM users WHERE auth_uid = 'busy'")
    nodes = list(_nodes(_explain(calendar._FEED, user=busy, limit=500)))
    # How the (at most 1000) parties are then fetched is the planner's choice: with this
    # small parties table a hash join over a sequential scan is cheaper than 1000 lookups.
    scanned = {n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"}
    assert not scanned & {"invites", "party_hosts"}
    used = {node.get("Index Name") for node in nodes if "Index Cond" in node}
    assert {"invites_guest_list", "party_hosts_list"} <= used
