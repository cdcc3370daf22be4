"""Parties: creating them and the three lists of the app (invited, confirmed, hosting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import clock, cursors
from realm.db import Tx, quotas
from realm.errors import PartyOver, TooFarAhead
from realm.media import urls
from realm.people.users import Summary, id_for, summary

View = Literal["invited", "confirmed", "hosting"]
_NO_CURSOR = (datetime.fromisoformat("0001-01-01T00:00:00+00:00"), 0)


@dataclass(frozen=True)
class Party:
    id: int
    flat: str
    title: str | None
    description: str | None
    capacity: int | None
    first_entry: datetime
    last_entry: datetime
    host: Summary
    invite_status: str | None = None


@dataclass(frozen=True)
class Page:
    parties: list[Party]
    next_cursor: str | None


_COLUMNS = """
    p.id, p.flat, p.title, p.description, p.capacity, p.first_entry, p.last_entry,
    h.id AS host_id, h.handle AS host_handle, h.display_name AS host_display_name,
    ph.id AS photo_id, ph.status AS photo_status, ph.thumbnail_keys AS photo_keys
"""


def _party(row: dict[str, Any], batch: urls.Batch | None = None) -> Party:
    return Party(
        id=row["id"],
        flat=row["flat"],
        title=row["title"],
        description=row["description"],
        capacity=row["capacity"],
        first_entry=row["first_entry"],
        last_entry=row["last_entry"],
        host=summary(row, "host_", batch),
        invite_status=row.get("invite_status"),
    )


def create(
    tx: Tx,
    auth_uid: str,
    *,
    flat: str,
    first_entry: datetime,
    title: str | None,
    description: str | None,
    capacity: int | None,
) -> Party:
    host_id = id_for(tx, auth_uid)
    now = tx.scalar("SELECT now()")
    # The horizon first: it keeps the arithmetic below far from datetime's limits.
    if first_entry - now > clock.PLANNING_HORIZON:
        raise TooFarAhead()
    if clock.is_over(first_entry, now):
        raise PartyOver("The last entry of this party would already have passed.")
    quotas.spend(tx, auth_uid, "parties")
    party_id = tx.scalar(
        "INSERT INTO parties (host_id, flat, title, description, capacity, first_entry)"
        " VALUES (:host, :flat, :title, :description, :capacity, :first_entry) RETURNING id",
        host=host_id,
        flat=flat,
        title=title,
        description=description,
        capacity=capacity,
        first_entry=first_entry,
    )
    return get(tx, party_id)


def get(tx: Tx, party_id: int) -> Party:
    row = tx.one(
        f"SELECT {_COLUMNS} FROM parties p JOIN users h ON h.id = p.host_id"
        " LEFT JOIN photos ph ON ph.id = h.photo_id WHERE p.id = :id",
        id=party_id,
    )
    assert row is not None, "callers pass ids of parties they just read or wrote"
    return _party(row)


# Upcoming means last_entry > now(), i.e. first_entry > now() - 12 hours: written on the
# first_entry columns so that the condition is a bound of the index range scan.
_GUEST_LIST = f"""
SELECT {_COLUMNS}, i.status AS invite_status
FROM invites i
JOIN parties p ON p.id = i.party_id
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
WHERE i.guest_id = (SELECT id FROM users WHERE auth_uid = :uid)
  AND i.status = :status
  AND i.party_first_entry > now() - interval '12 hours'
  AND (i.party_first_entry, i.party_id) > (:after_start, :after_id)
  AND p.cancelled_at IS NULL
ORDER BY i.party_first_entry, i.party_id
LIMIT :limit
"""

_HOST_LIST = f"""
SELECT {_COLUMNS}
FROM parties p
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
WHERE p.host_id = (SELECT id FROM users WHERE auth_uid = :uid)
  AND p.first_entry > now() - interval '12 hours'
  AND (p.first_entry, p.id) > (:after_start, :after_id)
  AND p.cancelled_at IS NULL
ORDER BY p.first_entry, p.id
LIMIT :limit
"""


def list_sql(view: View) -> str:
    return _HOST_LIST if view == "hosting" else _GUEST_LIST


def list_for(tx: Tx, auth_uid: str, view: View, *, limit: int, cursor: str | None) -> Page:
    """One page of the caller's upcoming parties in ``view``, soonest first.

    Raises cursors.InvalidCursor for a cursor this API did not give out.
    """
    after_start, after_id = cursors.decode(cursor) if cursor else _NO_CURSOR
    params: dict[str, Any] = dict(
        uid=auth_uid, after_start=after_start, after_id=after_id, limit=limit + 1
    )
    if view != "hosting":
        params["status"] = view
    rows = tx.all(list_sql(view), **params)
    if not rows:
        id_for(tx, auth_uid)  # an empty list, or a caller who never signed up?
    # The hosts' photo URLs not cached yet are signed together, concurrently, on first use.
    batch = urls.Batch(row["photo_keys"] for row in rows[:limit] if row["photo_status"] == "ready")
    parties = [_party(row, batch) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = cursors.encode(parties[-1].first_entry, parties[-1].id) if more else None
    return Page(parties, next_cursor)
