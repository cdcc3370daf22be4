"""Invite links: a host (or co-host) shares a link, and whoever opens it joins the party's guest
list as invited, exactly as if the host had invited them (DESIGN §12).

- **The token** is 256 random bits (``realm.url_tokens``, 43 URL-safe characters); only its SHA-256
  is stored, so a copy of the database lets nobody join anything. It is shown once, in the
  answer to create-invite-link, inside the link's URL: ``<REALM_INVITE_LINK_BASE_URL>/<token>``.
- **A bad token of any kind** (unknown, malformed, expired, revoked, used up, or for a party
  whose host has blocked the caller) is ``LinkNotFound`` and leaves nothing behind: the caller
  cannot tell one kind from another by the answer (all but "used up" are decided by the first
  statement, "used up" by the second, a read as quick).
- **Use counts** hold under concurrency: a join takes its use with one conditional UPDATE of the
  link's row (checked again on the row as committed), so joins of one link count one after the
  other, and a one-use link admits exactly one person; a join that finds no use left is
  ``LinkNotFound`` and its invite is rolled back.
- **A double tap** (the same person joining twice at once) answers 201 to one request and 200
  with that same invite to the other, every time: the caller's invite is read in a statement
  that waits for nothing, and an insert that meets the other request's invite waits for it to
  commit and then answers that invite.
- **Joining** creates an ``invited`` invite and an ``invite-created`` event with the same data
  as ``hosting.invites.create``, so notify-guest tells the guest as for any invite. Joining again
  (a retried request, a second tap) answers the invite the caller already has, unchanged, and
  costs the link no use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from realm import url_tokens
from realm.config import settings
from realm.db import Tx, quotas
from realm.errors import (
    ExpiresInPast,
    LinkNotFound,
    NotHost,
    SelfInvite,
)
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, invites, roles
from realm.hosting.invites import Invite
from realm.people import blocks
from realm.people.users import id_for


@dataclass(frozen=True)
class Link:
    link_id: int
    party_id: int
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewLink(Link):
    """A link as its creator sees it, once: with its token and URL."""

    token: str
    url: str


@dataclass(frozen=True)
class Joined:
    invite: Invite
    created: bool


_LINK_COLUMNS = "id AS link_id, party_id, expires_at, max_uses, uses, revoked_at"


def _link(row: dict[str, Any]) -> Link:
    return Link(
        link_id=int(row["link_id"]),
        party_id=int(row["party_id"]),
        expires_at=row["expires_at"],
        max_uses=row["max_uses"],
        uses=int(row["uses"]),
        revoked_at=row["revoked_at"],
    )


def url_for(token: str) -> str:
    """The link the app shares and opens as a deep link (docs/api/people.md)."""
    return f"{settings.invite_link_base_url}/{token}"


# The creator, their role and the party (locked FOR SHARE), in one round trip.
_CREATOR = roles.caller_sql("p.first_entry, p.cancelled_at, p.now", capacity.SHARED_PARTY)


def create(
    tx: Tx,
    auth_uid: str,
    *,
    party_id: int,
    expires_at: datetime | None,
    max_uses: int | None,
) -> NewLink:
    """A new link to the party, for its host or a co-host (``roles.as_manager``)."""
    # The party locked FOR SHARE: a cancellation in flight is waited for, and then refuses it.
    party = tx.one(_CREATOR, uid=auth_uid, party=party_id)
    creator = roles.caller_from(party)
    roles.as_manager(creator.role)
    assert party is not None, "caller_from refuses a missing row"
    capacity.check_open(party)
    if expires_at is not None and expires_at <= party["now"]:
        raise ExpiresInPast()
    quotas.spend(tx, auth_uid, "invite_links")
    token = url_tokens.new()
    row = tx.one(
        "INSERT INTO invite_links (party_id, created_by, token_hash, expires_at, max_uses)"
        " VALUES (:party, :user, :hash, :expires_at, :max_uses)"
        f" RETURNING {_LINK_COLUMNS}",
        party=party_id,
        user=creator.user_id,
        hash=url_tokens.digest(token),
        expires_at=expires_at,
        max_uses=max_uses,
    )
    assert row is not None
    link = _link(row)
    return NewLink(**vars(link), token=token, url=url_for(token))


# The one statement every join starts with: a link that works and its party, locked FOR SHARE
# (realm.hosting.capacity: a cancellation or a move in flight is waited for, and then seen), or
# no row at all.
_JOIN_SQL = f"""
SELECT l.id AS link_id, l.party_id, l.max_uses, l.uses,
       p.flat, p.title, p.first_entry, p.cancelled_at, now() AS now,
       h.id AS host_id, h.auth_uid AS host_auth_uid, h.display_name AS host_display_name
FROM invite_links l
JOIN parties p ON p.id = l.party_id
JOIN users h ON h.id = p.host_id
WHERE l.token_hash = :hash
  AND l.revoked_at IS NULL
  AND (l.expires_at IS NULL OR l.expires_at > now())
  AND NOT {blocks.has_blocked_sql("p.host_id", ":guest")}
FOR SHARE OF p
"""

# The caller's role in the party and their invite to it, read in a statement of its own: a
# statement that waits for a lock (the first one may) sees the locked row as committed but every
# other table as it was before the wait, so an invite made meanwhile would be missed.
_CALLER_SQL = f"""
SELECT {roles.role_sql("p", ":guest")} AS role,
       EXISTS (SELECT 1 FROM invites i WHERE i.party_id = p.id AND i.guest_id = :guest)
         AS invited
FROM parties p WHERE p.id = :party
"""

# One use of the link, if it still has one and still works: the row is locked by the UPDATE
# and the condition checked again on the row as committed, so concurrent joins count one after
# another and a one-use link admits exactly one person.
_USE_SQL = """
UPDATE invite_links SET uses = uses + 1
WHERE id = :id AND (max_uses IS NULL OR uses < max_uses)
  AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
RETURNING uses
"""


def join(tx: OutboxTx, auth_uid: str, token: str) -> Joined:
    """The caller joins the party of the link whose token this is."""
    guest_id = id_for(tx, auth_uid)
    link = tx.one(_JOIN_SQL, guest=guest_id, hash=url_tokens.digest(token))
    if link is None:
        raise LinkNotFound()
    party_id = link["party_id"]
    caller = tx.one(_CALLER_SQL, party=party_id, guest=guest_id)
    assert caller is not None, "the party is locked"
    if caller["role"] in roles.MANAGERS:
        raise SelfInvite("You host this party.")
    if caller["invited"]:
        capacity.check_open(link)
        return Joined(invites.of(tx, party_id, guest_id), created=False)
    if link["max_uses"] is not None and link["uses"] >= link["max_uses"]:
        raise LinkNotFound()
    capacity.check_open(link)
    invite = invites.insert(
        tx, party_id=party_id, first_entry=link["first_entry"], guest_id=guest_id
    )
    if invite is None:
        # Invited a moment ago (by the host, or by this caller's own other request): that
        # transaction committed while this insert waited for it.
        return Joined(invites.of(tx, party_id, guest_id), created=False)
    if tx.scalar(_USE_SQL, id=link["link_id"]) is None:
        # Used up (or revoked, or expired) meanwhile by another join: the invite just inserted
        # goes with this transaction, and the answer is that of any link that does not work.
        raise LinkNotFound()
    invites.announce(
        tx,
        invite,
        link,
        guest_uid=auth_uid,
        inviter_id=link["host_id"],
        inviter_uid=link["host_auth_uid"],
        inviter_name=link["host_display_name"],
        via_link_id=link["link_id"],
    )
    return Joined(invite, created=True)


def revoke(tx: Tx, auth_uid: str, link_id: int) -> Link:
    """The link stops working for good; revoking it again changes nothing. Only the party's
    host or a co-host may; to anyone who is nobody to the party the link does not exist."""
    user_id = id_for(tx, auth_uid)
    party_id = tx.scalar("SELECT party_id FROM invite_links WHERE id = :id", id=link_id)
    role = None if party_id is None else roles.role_of(tx, int(party_id), user_id)
    if role is None:
        raise LinkNotFound()
    if role not in roles.MANAGERS:
        raise NotHost()
    row = tx.one(
        "UPDATE invite_links SET revoked_at = COALESCE(revoked_at, now())"
        f" WHERE id = :id RETURNING {_LINK_COLUMNS}",
        id=link_id,
    )
    assert row is not None
    return _link(row)
