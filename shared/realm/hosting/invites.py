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
)
from realm.events import outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, roles
from realm.hosting.capacity import check_open as _check_open
from realm.people import blocks
from realm.people.users import id_for

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


def create(tx: OutboxTx, auth_uid: str, *, party_id: int, guest_id: int) -> Invite:
    """Invites the guest and writes an ``invite-created`` event with it."""
    host_id = id_for(tx, auth_uid)
    # The host or a co-host may invite; a guest of the party gets 403, anyone else 404.
    roles.require_manager(tx, party_id, host_id)
    party = tx.one(
        "SELECT host_id, flat, title, first_entry, cancelled_at, now() AS now"
        " FROM parties WHERE id = :id",
        id=party_id,
    )
    assert party is not None, "require_manager found it"
    guest_uid = tx.scalar("SELECT auth_uid FROM users WHERE id = :id", id=guest_id)
    # Someone who has blocked the inviter, or the party's host, is to them nobody (DESIGN §12).
    if guest_uid is None or any(
        blocks.has_blocked(tx, guest_id, inviter) for inviter in {host_id, party["host_id"]}
    ):
        raise GuestNotFound()
    if guest_id in (host_id, party["host_id"]):
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
        guest_uid=guest_uid,
        inviter_id=host_id,
        inviter_uid=auth_uid,
        inviter_name=tx.scalar("SELECT display_name FROM users WHERE id = :id", id=host_id),
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
    them, to what): ``party`` holds its ``flat``, ``title`` and ``first_entry``."""
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
    )


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
    guest_id = id_for(tx, auth_uid)
    invite_id = tx.scalar(
        "SELECT id FROM invites WHERE party_id = :party AND guest_id = :guest",
        party=party_id,
        guest=guest_id,
    )
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
        names = tx.one(
            "SELECT h.auth_uid AS host_auth_uid, g.display_name AS guest_display_name"
            " FROM users h, users g WHERE h.id = :host AND g.id = :guest",
            host=party["host_id"],
            guest=guest_id,
        )
        assert names is not None
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
                "guest_display_name": names["guest_display_name"],
                "host_id": party["host_id"],
                "host_auth_uid": names["host_auth_uid"],
            },
        )
    return invite
