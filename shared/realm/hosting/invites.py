"""Invites: a host invites a guest to a party; the guest confirms or declines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm.db import Tx, quotas
from realm.errors import (
    AlreadyInvited,
    GuestNotFound,
    InviteNotFound,
    SelfInvite,
    SignupRequired,
)
from realm.events import outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, roles
from realm.hosting.capacity import check_open as _check_open
from realm.people import blocks

Response = Literal["confirmed", "declined"]


@dataclass(frozen=True)
class Invite:
    id: int
    party_id: int
    guest_id: int
    status: str
    plus_ones: int
    created_at: datetime
    responded_at: datetime | None


_FIELDS = "id, party_id, guest_id, status, plus_ones, created_at, responded_at"
_RETURNING = f"RETURNING {_FIELDS}"


def _invite(row: dict[str, Any]) -> Invite:
    return Invite(
        row["id"],
        row["party_id"],
        row["guest_id"],
        row["status"],
        row["plus_ones"],
        row["created_at"],
        row["responded_at"],
    )


# What create-invite needs to know first, in one round trip: the caller (and the name the
# guest's notification shows), their role in the party, and the party (with the transaction's
# now(), the event's time). No row: the caller never signed up.
#
# The party's row is locked FOR SHARE (realm.hosting.capacity says why) and read as it is once
# the lock is held: a cancellation or a move in flight is waited for, and then seen.
_INVITER = roles.caller_sql(
    "p.host_id, p.flat, p.title, p.first_entry, p.cancelled_at, p.now", capacity.SHARED_PARTY
)

# The guest (by id, or by handle) with their uid, whether they have blocked the inviter or the
# party's host (someone who has is, to them, nobody: DESIGN §12), and whether they host or
# co-host the party (who cannot be its guest too). No row: no such user.
_GUEST = f"""
SELECT u.id, u.auth_uid,
       {blocks.has_blocked_sql("u.id", ":inviter")} OR {blocks.has_blocked_sql("u.id", ":host")}
         AS blocked,
       EXISTS (SELECT 1 FROM party_hosts m WHERE m.party_id = :party AND m.user_id = u.id)
         AS manages
FROM users u
"""
_GUEST_BY_ID = _GUEST + "WHERE u.id = :guest"
_GUEST_BY_HANDLE = _GUEST + "WHERE u.handle = :guest"


def create(
    tx: OutboxTx,
    auth_uid: str,
    *,
    party_id: int,
    guest_id: int | None = None,
    handle: str | None = None,
) -> Invite:
    """Invites the guest, given by id or by (canonical) handle, and writes an
    ``invite-created`` event with it. An unknown guest and one who has blocked the inviter or
    the host are ``GuestNotFound`` alike, by id or by handle."""
    party = tx.one(_INVITER, uid=auth_uid, party=party_id)
    inviter = roles.caller_from(party)
    # The host or a co-host may invite; a guest of the party gets 403, anyone else 404.
    roles.as_manager(inviter.role)
    assert party is not None, "caller_from refuses a missing row"
    guest = tx.one(
        _GUEST_BY_ID if handle is None else _GUEST_BY_HANDLE,
        guest=guest_id if handle is None else handle,
        inviter=inviter.user_id,
        host=party["host_id"],
        party=party_id,
    )
    if guest is None or guest["blocked"]:
        raise GuestNotFound()
    guest_id = int(guest["id"])
    if guest["manages"]:
        raise SelfInvite()
    _check_open(party)
    quotas.spend(tx, auth_uid, "invites")
    invite = insert(tx, party_id=party_id, first_entry=party["first_entry"], guest_id=guest_id)
    if invite is None:
        raise AlreadyInvited()
    announce(
        tx,
        invite,
        party,
        guest_uid=guest["auth_uid"],
        inviter_id=inviter.user_id,
        inviter_uid=auth_uid,
        inviter_name=inviter.display_name,
    )
    return invite


def of(tx: Tx, party_id: int, guest_id: int) -> Invite:
    """The guest's invite to the party (callers know it exists)."""
    row = tx.one(
        f"SELECT {_FIELDS} FROM invites WHERE party_id = :party AND guest_id = :guest",
        party=party_id,
        guest=guest_id,
    )
    assert row is not None, "the caller knows the invite exists"
    return _invite(row)


def insert(tx: Tx, *, party_id: int, first_entry: datetime, guest_id: int) -> Invite | None:
    """A new ``invited`` invite, or None when the guest has one to this party already.

    ON CONFLICT makes concurrent identical calls safe: exactly one inserts, the rest see no row,
    without an aborted transaction to clean up.
    """
    row = tx.one(
        "INSERT INTO invites (party_id, party_first_entry, guest_id)"
        " VALUES (:party, :first_entry, :guest)"
        f" ON CONFLICT (party_id, guest_id) DO NOTHING {_RETURNING}",
        party=party_id,
        first_entry=first_entry,
        guest=guest_id,
    )
    return None if row is None else _invite(row)


def announce(
    tx: OutboxTx,
    invite: Invite,
    party: Mapping[str, Any],
    *,
    guest_uid: str,
    inviter_id: int,
    inviter_uid: str,
    inviter_name: str,
    **extra: Any,
) -> None:
    """The ``invite-created`` event of a new invite (notify-guest tells the guest who invited
    them, to what): ``party`` holds its ``flat``, ``title`` and ``first_entry``, and the
    transaction's ``now`` when it was read with them."""
    outbox.add(
        tx,
        "invite-created",
        {
            "invite_id": invite.id,
            "party_id": invite.party_id,
            "flat": party["flat"],
            "title": party["title"],
            "first_entry": party["first_entry"].isoformat(),
            "guest_id": invite.guest_id,
            "guest_auth_uid": guest_uid,
            "host_id": inviter_id,
            "host_auth_uid": inviter_uid,
            "host_display_name": inviter_name,
            **extra,
        },
        at=party.get("now"),
    )


# Who answers, their invite to the party, and who the party's host is (for the event), in one
# round trip. No row: the caller never signed up; no invite: not invited (or no such party).
_ANSWERING = """
SELECT g.id AS guest_id, g.display_name AS guest_display_name, i.id AS invite_id,
       h.auth_uid AS host_auth_uid
FROM users g
LEFT JOIN invites i ON i.party_id = :party AND i.guest_id = g.id
LEFT JOIN parties p ON p.id = i.party_id
LEFT JOIN users h ON h.id = p.host_id
WHERE g.auth_uid = :uid
"""


def respond(
    tx: OutboxTx,
    auth_uid: str,
    *,
    party_id: int,
    response: Response,
    plus_ones: int | None = None,
) -> Invite:
    """Records the guest's answer (realm.hosting.capacity: a confirmation may be waitlisted);
    a changed status writes an ``invite-responded`` event with it."""
    found = tx.one(_ANSWERING, uid=auth_uid, party=party_id)
    if found is None:
        raise SignupRequired()
    guest_id, invite_id = found["guest_id"], found["invite_id"]
    if invite_id is None:
        # The same answer whether the party is unknown or the caller is not invited to it:
        # a guest learns nothing about parties that are not theirs.
        raise InviteNotFound()
    # Answers to one party are served one at a time from here on (the capacity module says why).
    party = capacity.lock(tx, party_id)
    _check_open(party)
    before = tx.one("SELECT id, status, plus_ones FROM invites WHERE id = :id", id=invite_id)
    if before is None:
        raise InviteNotFound()  # removed by a host since the first read
    status, _ = capacity.answer(tx, party, before, response, plus_ones)
    row = tx.one(f"SELECT {_FIELDS} FROM invites WHERE id = :id", id=invite_id)
    assert row is not None, "the party's lock keeps it"
    invite = _invite(row)
    if before["status"] != status:
        outbox.add(
            tx,
            "invite-responded",
            {
                "invite_id": invite.id,
                "party_id": party_id,
                "flat": party["flat"],
                "title": party["title"],
                "response": status,
                "plus_ones": invite.plus_ones,
                "guest_id": guest_id,
                "guest_auth_uid": auth_uid,
                "guest_display_name": found["guest_display_name"],
                "host_id": party["host_id"],
                "host_auth_uid": found["host_auth_uid"],
            },
            at=party["now"],
        )
    return invite
