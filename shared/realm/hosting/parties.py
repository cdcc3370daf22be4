"""Parties: creating them, the three lists of the app (invited, confirmed, hosting), and a party's
details (DESIGN §11). The host's changes are in realm.hosting.changes: this module is on the
read path (list-parties, get-party) and imports nothing of the event layer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from realm import clock, cursors
from realm.db import Tx, quotas, render
from realm.errors import PartyNotFound, PartyOver, SignupRequired, TooFarAhead
from realm.hosting import roles
from realm.media import urls
from realm.people.users import Summary, id_for, summary, summary_json

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

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Party:
        """A party of a rendered list (``api_models.PartyOut``), read back."""
        return cls(
            id=value["id"],
            flat=value["flat"],
            title=value["title"],
            description=value["description"],
            capacity=value["capacity"],
            first_entry=datetime.fromisoformat(value["first_entry"]),
            last_entry=datetime.fromisoformat(value["last_entry"]),
            host=Summary.from_json(value["host"]),
            invite_status=value["invite_status"],
        )


@dataclass(frozen=True)
class Page:
    # The parties as the API sends them: a JSON array of api_models.PartyOut, rendered by
    # PostgreSQL (docs/decisions/0060).
    rendered: urls.Rendered
    next_cursor: str | None

    @property
    def parties(self) -> list[Party]:
        """The parties as objects, for Python callers (the function sends ``rendered``)."""
        return [Party.from_json(value) for value in json.loads(self.rendered.raw)]


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


def _party_json(invite_status: str) -> str:
    """SQL: the party ``p`` with its host ``h`` (and the host's photo ``ph``) as
    ``api_models.PartyOut``."""
    return (
        "json_build_object('id', p.id, 'flat', p.flat, 'title', p.title,"
        " 'description', p.description, 'capacity', p.capacity,"
        f" 'first_entry', {render.time('p.first_entry')},"
        f" 'last_entry', {render.time('p.last_entry')},"
        f" 'host', {summary_json('h', 'ph')}, 'invite_status', {invite_status})"
    )


# Upcoming means last_entry > now(), i.e. first_entry > now() - 12 hours: written on the
# first_entry columns so that the condition is a bound of the index range scan.
# The guest screens read the invites' `screen` (invited; confirmed, which also holds the
# waitlisted) so that each screen is one range of invites_guest_list.
_GUEST_LIST = f"""
SELECT {_party_json("i.status")} AS party, p.first_entry, p.id, ph.status AS photo_status,
       i.party_first_entry AS sort_start, i.party_id AS sort_id
FROM invites i
JOIN parties p ON p.id = i.party_id
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
WHERE i.guest_id = (SELECT id FROM users WHERE auth_uid = :uid)
  AND i.screen = :status
  AND i.party_first_entry > now() - interval '12 hours'
  AND (i.party_first_entry, i.party_id) > (:after_start, :after_id)
  AND p.cancelled_at IS NULL
ORDER BY i.party_first_entry, i.party_id
LIMIT :limit
"""

# Hosted and co-hosted parties: one range of party_hosts_list.
_HOST_LIST = f"""
SELECT {_party_json("NULL")} AS party, p.first_entry, p.id, ph.status AS photo_status,
       m.party_first_entry AS sort_start, m.party_id AS sort_id
FROM party_hosts m
JOIN parties p ON p.id = m.party_id
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
WHERE m.user_id = (SELECT id FROM users WHERE auth_uid = :uid)
  AND m.party_first_entry > now() - interval '12 hours'
  AND (m.party_first_entry, m.party_id) > (:after_start, :after_id)
  AND p.cancelled_at IS NULL
ORDER BY m.party_first_entry, m.party_id
LIMIT :limit
"""


def list_sql(view: View) -> str:
    rows = _HOST_LIST if view == "hosting" else _GUEST_LIST
    cursor = {"last_start": "first_entry", "last_id": "id"}
    return render.page(rows, "party", "sort_start, sort_id", cursor)


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
    page = tx.one(list_sql(view), **params)
    assert page is not None, "an aggregate gives one row"
    if not page["found"]:
        id_for(tx, auth_uid)  # an empty list, or a caller who never signed up?
    more = page["found"] > limit
    next_cursor = cursors.encode(page["last_start"], page["last_id"]) if more else None
    return Page(urls.Rendered(page["items"], page["photos"]), next_cursor)


# -- one party's details (get-party) --------------------------------------------------------


@dataclass(frozen=True)
class MyInvite:
    status: str
    plus_ones: int


@dataclass(frozen=True)
class Counts:
    invited: int
    confirmed: int
    declined: int
    waitlisted: int
    heads: int


@dataclass(frozen=True)
class Detail(Party):
    my_role: roles.Role = "guest"
    my_invite: MyInvite | None = None
    counts: Counts = field(default_factory=lambda: Counts(0, 0, 0, 0, 0))
    cohosts: list[Summary] = field(default_factory=list)
    max_plus_ones: int = 0
    guest_list_visible: bool = False
    cancelled_at: datetime | None = None


# One round trip: the party, who the caller is to it, their invite, the counts of the guest
# list (from invites_party_guests alone), and the co-hosts.
_DETAIL = f"""
WITH me AS (SELECT id FROM users WHERE auth_uid = :uid)
SELECT {_COLUMNS}, p.max_plus_ones, p.guest_list_visible, p.cancelled_at,
       (SELECT id FROM me) AS me_id,
       (SELECT m.role FROM party_hosts m
         WHERE m.party_id = p.id AND m.user_id = (SELECT id FROM me)) AS manager_role,
       mi.status AS invite_status, mi.plus_ones AS my_plus_ones,
       c.invited, c.confirmed, c.declined, c.waitlisted, c.heads,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', u.id, 'handle', u.handle, 'display_name', u.display_name,
                 'photo_id', cp.id, 'photo_status', cp.status, 'photo_keys', cp.thumbnail_keys)
               ORDER BY m.created_at, u.id), '[]')
          FROM party_hosts m JOIN users u ON u.id = m.user_id
          LEFT JOIN photos cp ON cp.id = u.photo_id
         WHERE m.party_id = p.id AND m.role = 'cohost') AS cohosts
FROM parties p
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
LEFT JOIN invites mi ON mi.party_id = p.id AND mi.guest_id = (SELECT id FROM me)
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE status = 'invited') AS invited,
           count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
           count(*) FILTER (WHERE status = 'declined') AS declined,
           count(*) FILTER (WHERE status = 'waitlisted') AS waitlisted,
           coalesce(sum(1 + plus_ones) FILTER (WHERE status = 'confirmed'), 0) AS heads
    FROM invites WHERE party_id = p.id
) c
WHERE p.id = :party
"""


def detail(tx: Tx, auth_uid: str, party_id: int) -> Detail:
    """The party as its host, a co-host or a guest sees it; ``PartyNotFound`` for anyone else,
    whether or not it exists."""
    row = tx.one(_DETAIL, uid=auth_uid, party=party_id)
    if row is None:
        id_for(tx, auth_uid)  # a caller who never signed up is told so, not "no such party"
        raise PartyNotFound()
    if row["me_id"] is None:
        raise SignupRequired()
    my_status = row["invite_status"]
    role: roles.Role | None = row["manager_role"] or ("guest" if my_status else None)
    if role is None:
        raise PartyNotFound()
    cohosts = row["cohosts"]
    batch = urls.Batch(
        [c["photo_keys"] for c in cohosts if c["photo_status"] == "ready"]
        + ([row["photo_keys"]] if row["photo_status"] == "ready" else [])
    )
    return Detail(
        **vars(_party(row, batch)),
        my_role=role,
        my_invite=MyInvite(my_status, int(row["my_plus_ones"])) if my_status else None,
        counts=Counts(
            int(row["invited"]),
            int(row["confirmed"]),
            int(row["declined"]),
            int(row["waitlisted"]),
            int(row["heads"]),
        ),
        cohosts=[summary(c, "", batch) for c in cohosts],
        max_plus_ones=int(row["max_plus_ones"]),
        guest_list_visible=bool(row["guest_list_visible"]),
        cancelled_at=row["cancelled_at"],
    )
