"""Exporting one's data (export-my-data, DESIGN §13): everything stored about the caller, as one
JSON document.

What is in it: the profile (with the uid, email and phone), every photo's metadata and fresh
URLs of the ready ones, the parties they host or co-host with their guest lists, their invites,
the blocks they made, the invite links they made, their devices (platform and date, never the
token), whether they have a calendar link (never its secret, which is stored only as a hash),
and their notifications, read from the feed.

What is not: anything about anyone else beyond what the app already shows the caller. Other
people appear as ``{id, handle, display_name}`` (a user summary without its photo: a URL to
someone else's photo would expire, and cost a signature each). Who has blocked the caller is
not said (DESIGN §12: the blocked user is never told). Quota spends are kept under a hash of the
uid and say only when something was created, which the sections above say better.

Its size is bounded, so that an export fits one response however much a user has done: each
section holds at most ``LIMITS[section]`` items, newest first, and names itself in ``truncated``
when there was more. The guest lists share one bound (``guests``): a host of many large parties
gets the full lists of their newest parties, and ``guest_list_complete: false`` on the rest,
whose lists list-guests pages through. At the limits the document is about 6 MB.

Everything from PostgreSQL is read in one REPEATABLE READ transaction (one consistent
snapshot); the connection is released before the feed is read and before photo URLs are signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from realm import db
from realm.db import Row, Tx
from realm.events import notify
from realm.media import urls
from realm.people import users
from realm.people.users import PhotoRef, id_for, photo_ref

from .devices import Device

LIMITS: dict[str, int] = {
    "photos": 100,
    "parties": 1_000,
    "guests": 20_000,
    "invites": 5_000,
    "blocks": 5_000,
    "invite_links": 1_000,
    "notifications": 1_000,
}


@dataclass(frozen=True)
class Person:
    """Someone else, as the export shows them."""

    id: int
    handle: str
    display_name: str


@dataclass(frozen=True)
class Photo:
    id: UUID
    status: str
    content_type: str
    width: int | None
    height: int | None
    bytes: int
    sha256: str
    rejected_reason: str | None
    created_at: datetime
    ref: PhotoRef = field(repr=False)

    @property
    def urls(self) -> dict[str, str] | None:
        return self.ref.urls


@dataclass(frozen=True)
class Guest:
    user: Person
    status: str
    plus_ones: int
    invited_at: datetime
    responded_at: datetime | None


@dataclass
class Party:
    id: int
    role: str
    flat: str
    title: str | None
    description: str | None
    capacity: int | None
    max_plus_ones: int
    guest_list_visible: bool
    first_entry: datetime
    last_entry: datetime
    cancelled_at: datetime | None
    created_at: datetime
    host: Person
    guests: list[Guest] = field(default_factory=list)
    guest_list_complete: bool = True


@dataclass(frozen=True)
class InvitedTo:
    id: int
    flat: str
    title: str | None
    first_entry: datetime
    last_entry: datetime
    cancelled_at: datetime | None
    host: Person


@dataclass(frozen=True)
class Invite:
    party: InvitedTo
    status: str
    plus_ones: int
    invited_at: datetime
    responded_at: datetime | None


@dataclass(frozen=True)
class Block:
    user: Person
    blocked_at: datetime


@dataclass(frozen=True)
class Link:
    id: int
    party_id: int
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None


@dataclass(frozen=True)
class CalendarLink:
    created_at: datetime


@dataclass
class Export:
    exported_at: datetime
    profile: users.User
    photos: list[Photo]
    parties: list[Party]
    invites: list[Invite]
    blocks: list[Block]
    invite_links: list[Link]
    devices: list[Device]
    calendar_link: CalendarLink | None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


def _person(row: Row, prefix: str) -> Person:
    return Person(
        int(row[f"{prefix}id"]), str(row[f"{prefix}handle"]), str(row[f"{prefix}display_name"])
    )


T = TypeVar("T")


class _Sections:
    """Reads the sections of one export, each cut at its bound and noted when cut."""

    def __init__(self, tx: Tx, me: int) -> None:
        self.tx, self.me = tx, me
        self.truncated: list[str] = []

    def cut(self, section: str, items: list[T]) -> list[T]:
        """``items`` read with a limit of the bound + 1: the bound, noting the cut."""
        if len(items) > LIMITS[section]:
            self.truncated.append(section)
        return items[: LIMITS[section]]

    def read(self, section: str, sql: str, **params: Any) -> list[Row]:
        """One section's rows: ``sql`` has ``:me`` and ``LIMIT :n``."""
        rows = self.tx.all(sql, me=self.me, n=LIMITS[section] + 1, **params)
        return self.cut(section, rows)


def export(auth_uid: str, feed: notify.Feed | None = None) -> Export:
    """Everything stored about the caller (``SignupRequired`` for one who never signed up)."""
    with db.transaction() as tx:
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sections = _Sections(tx, id_for(tx, auth_uid))
        document = _read(sections)
    # The connection is back in the pool: the feed is another service.
    items = (feed or notify.default_feed()).recent(auth_uid, LIMITS["notifications"] + 1)
    document.notifications = sections.cut("notifications", items)
    document.truncated = sections.truncated
    return document


_PHOTOS = """
SELECT id AS photo_id, status AS photo_status, thumbnail_keys AS photo_keys,
       content_type, width, height, bytes, sha256, rejected_reason, created_at
FROM photos WHERE owner_id = :me ORDER BY created_at DESC, id LIMIT :n
"""
_BLOCKS = """
SELECT u.id AS user_id, u.handle AS user_handle, u.display_name AS user_display_name,
       b.created_at
FROM blocks b JOIN users u ON u.id = b.blocked_id
WHERE b.blocker_id = :me ORDER BY b.created_at DESC, u.id LIMIT :n
"""
_LINKS = """
SELECT id, party_id, created_at, expires_at, max_uses, uses, revoked_at
FROM invite_links WHERE created_by = :me ORDER BY created_at DESC, id DESC LIMIT :n
"""
_INVITES = """
SELECT i.status, i.plus_ones, i.created_at, i.responded_at,
       p.id, p.flat, p.title, p.first_entry, p.last_entry, p.cancelled_at,
       h.id AS host_id, h.handle AS host_handle, h.display_name AS host_display_name
FROM invites i
JOIN parties p ON p.id = i.party_id
JOIN users h ON h.id = p.host_id
WHERE i.guest_id = :me
ORDER BY i.created_at DESC, i.id DESC
LIMIT :n
"""


def _read(sections: _Sections) -> Export:
    tx, me = sections.tx, sections.me
    photo_rows = sections.read("photos", _PHOTOS)
    # The photos' URLs are signed together, concurrently, once the response is built.
    batch = urls.Batch(row["photo_keys"] for row in photo_rows if row["photo_status"] == "ready")
    created = tx.scalar("SELECT created_at FROM calendar_feeds WHERE user_id = :me", me=me)
    return Export(
        exported_at=tx.scalar("SELECT now()"),
        profile=users.get(tx, me),
        photos=[_photo(row, batch) for row in photo_rows],
        parties=_parties(sections),
        invites=[_invite(row) for row in sections.read("invites", _INVITES)],
        blocks=[
            Block(_person(row, "user_"), row["created_at"])
            for row in sections.read("blocks", _BLOCKS)
        ],
        invite_links=[Link(**row) for row in sections.read("invite_links", _LINKS)],
        devices=[
            Device(str(row["platform"]), row["registered_at"])
            for row in tx.all(
                "SELECT platform, registered_at FROM devices WHERE user_id = :me"
                " ORDER BY registered_at DESC, id DESC",
                me=me,
            )
        ],
        calendar_link=None if created is None else CalendarLink(created),
    )


def _photo(row: Row, batch: urls.Batch) -> Photo:
    ref = photo_ref(row, batch)
    assert ref is not None, "a photo row has an id"
    return Photo(
        ref.id,
        str(row["photo_status"]),
        str(row["content_type"]),
        row["width"],
        row["height"],
        int(row["bytes"]),
        str(row["sha256"]),
        row["rejected_reason"],
        row["created_at"],
        ref,
    )


def _invite(row: Row) -> Invite:
    party = InvitedTo(
        int(row["id"]),
        str(row["flat"]),
        row["title"],
        row["first_entry"],
        row["last_entry"],
        row["cancelled_at"],
        _person(row, "host_"),
    )
    status, plus_ones = str(row["status"]), int(row["plus_ones"])
    return Invite(party, status, plus_ones, row["created_at"], row["responded_at"])


_HOSTED = """
SELECT p.id, m.role, p.flat, p.title, p.description, p.capacity, p.max_plus_ones,
       p.guest_list_visible, p.first_entry, p.last_entry, p.cancelled_at, p.created_at,
       h.id AS host_id, h.handle AS host_handle, h.display_name AS host_display_name
FROM party_hosts m
JOIN parties p ON p.id = m.party_id
JOIN users h ON h.id = p.host_id
WHERE m.user_id = :me
ORDER BY m.party_first_entry DESC, m.party_id DESC
LIMIT :n
"""

# The guest lists of the given parties, in the order given, each as list-guests orders it; one
# range of invites_party_guests per party, cut at the export's bound.
_GUESTS = """
SELECT i.party_id, i.status, i.plus_ones, i.created_at, i.responded_at,
       u.id AS user_id, u.handle AS user_handle, u.display_name AS user_display_name
FROM unnest(CAST(:parties AS bigint[])) WITH ORDINALITY AS p(id, n)
JOIN invites i ON i.party_id = p.id
JOIN users u ON u.id = i.guest_id
ORDER BY p.n, i.status, i.answer_seq
LIMIT :n
"""


def _parties(sections: _Sections) -> list[Party]:
    parties = [
        Party(
            id=int(row["id"]),
            role=str(row["role"]),
            flat=str(row["flat"]),
            title=row["title"],
            description=row["description"],
            capacity=row["capacity"],
            max_plus_ones=int(row["max_plus_ones"]),
            guest_list_visible=bool(row["guest_list_visible"]),
            first_entry=row["first_entry"],
            last_entry=row["last_entry"],
            cancelled_at=row["cancelled_at"],
            created_at=row["created_at"],
            host=_person(row, "host_"),
        )
        for row in sections.read("parties", _HOSTED)
    ]
    if not parties:
        return parties
    by_id = {party.id: party for party in parties}
    rows = sections.tx.all(_GUESTS, parties=list(by_id), n=LIMITS["guests"] + 1)
    for row in sections.cut("guests", rows):
        by_id[int(row["party_id"])].guests.append(
            Guest(
                _person(row, "user_"),
                str(row["status"]),
                int(row["plus_ones"]),
                row["created_at"],
                row["responded_at"],
            )
        )
    if len(rows) > LIMITS["guests"]:
        # The bound is for all the lists together: the list of the first guest left out is
        # cut short, and the lists after it are left out whole (the rows come list by list, in
        # the parties' order, so none of theirs was kept).
        cut = int(rows[LIMITS["guests"]]["party_id"])
        complete = True
        for party in parties:
            complete = complete and party.id != cut
            party.guest_list_complete = complete
    return parties


def filename(exported_at: datetime) -> str:
    """The attachment's name: ``realm-data-YYYY-MM-DD.json``."""
    return f"realm-data-{exported_at:%Y-%m-%d}.json"
