"""Calendar feeds: a secret subscription URL per user (calendar-link) and what it serves
(calendar; rendered as RFC 5545 by realm.hosting.ical).

The secret is the credential: calendar apps cannot send a Firebase token. It is 256 random bits
(``realm.url_tokens``), shown once in the link; only its SHA-256 is stored, so a copy of the
database reveals no working link. A new link replaces the user's previous one, which stops working.
A feed is looked up by the hash of its secret, so the secret is never compared in Python, and
the index lookup depends only on the hash, which an attacker cannot steer towards a stored one
without a preimage.

The feed holds the owner's upcoming parties that they confirmed, host or co-host, including the
cancelled ones (so calendars show them as cancelled rather than silently dropping them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from realm import url_tokens
from realm.config import settings
from realm.db import Tx
from realm.errors import CalendarNotFound
from realm.people.users import id_for

# More than any calendar needs; keeps one feed's work bounded.
MAX_ENTRIES = 500


def new_link(tx: Tx, auth_uid: str) -> str:
    """A new secret subscription URL for the caller; the previous one stops working."""
    user_id = id_for(tx, auth_uid)
    token = url_tokens.new()
    tx.execute(
        "INSERT INTO calendar_feeds (user_id, token_hash) VALUES (:user, :hash)"
        " ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash,"
        " created_at = now()",
        user=user_id,
        hash=url_tokens.digest(token),
    )
    return f"{settings.public_base_url}/calendar?token={token}"


def owner_of(tx: Tx, token: str) -> int:
    """The user whose feed ``token`` opens; ``CalendarNotFound`` for any other token."""
    user_id = tx.scalar(
        "SELECT user_id FROM calendar_feeds WHERE token_hash = :hash", hash=url_tokens.digest(token)
    )
    if user_id is None:
        raise CalendarNotFound()
    return int(user_id)


@dataclass(frozen=True)
class Entry:
    party_id: int
    flat: str
    title: str | None
    description: str | None
    first_entry: datetime
    last_entry: datetime
    cancelled: bool
    revision: int
    updated_at: datetime
    role: str  # "guest", "host" or "cohost"


# Confirmed invites (one range of invites_guest_list: the Confirmed screen's range, whose
# waitlisted rows are left out) and hosted or co-hosted parties (one range of
# party_hosts_list), upcoming only, each in its index's order and merged: the feed reads at most
# `limit` rows of each, whatever the owner's history.
_FEED = """
SELECT p.id, p.flat, p.title, p.description, p.first_entry, p.last_entry,
       p.cancelled_at IS NOT NULL AS cancelled, p.revision, p.updated_at, who.role
FROM (
    (SELECT party_id, party_first_entry, 'guest' AS role FROM invites
      WHERE guest_id = :user AND screen = 'confirmed' AND status = 'confirmed'
        AND party_first_entry > now() - interval '12 hours'
      ORDER BY party_first_entry, party_id LIMIT :limit)
    UNION ALL
    (SELECT party_id, party_first_entry, role FROM party_hosts
      WHERE user_id = :user AND party_first_entry > now() - interval '12 hours'
      ORDER BY party_first_entry, party_id LIMIT :limit)
) who
JOIN parties p ON p.id = who.party_id
ORDER BY who.party_first_entry, who.party_id
LIMIT :limit
"""


def entries(tx: Tx, user_id: int) -> list[Entry]:
    seen: set[int] = set()
    found = []
    for row in tx.all(_FEED, user=user_id, limit=MAX_ENTRIES):
        if row["id"] in seen:  # a co-host who is also a confirmed guest: one event
            continue
        seen.add(row["id"])
        found.append(
            Entry(
                party_id=int(row["id"]),
                flat=str(row["flat"]),
                title=row["title"],
                description=row["description"],
                first_entry=row["first_entry"],
                last_entry=row["last_entry"],
                cancelled=bool(row["cancelled"]),
                revision=int(row["revision"]),
                updated_at=row["updated_at"],
                role=str(row["role"]),
            )
        )
    return found
