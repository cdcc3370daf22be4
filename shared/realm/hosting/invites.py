"""Invites: a host invites a guest to a party; the guest confirms or declines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import clock
from realm.db import quotas
from realm.errors import (
    AlreadyInvited,
    GuestNotFound,
    InviteNotFound,
    NotHost,
    PartyCancelled,
    PartyNotFound,
    PartyOver,
    SelfInvite,
)
from realm.events import outbox
from realm.events.outbox import OutboxTx
from realm.people import blocks
from realm.people.users import id_for

Response = Literal["confirmed", "declined"]


@dataclass(frozen=True)
class Invite:
    id: int
    party_id: int
    guest_id: int
    status: str
    created_at: datetime
    responded_at: datetime | None


_RETURNING = "RETURNING id, party_id, guest_id, status, created_at, responded_at"


def _invite(row: dict[str, Any]) -> Invite:
    return Invite(
        row["id"],
        row["party_id"],
        row["guest_id"],
        row["status"],
        row["created_at"],
        row["responded_at"],
    )


def _check_open(party: dict[str, Any]) -> None:
    if party["cancelled_at"] is not None:
        raise PartyCancelled()
    if clock.is_over(party["first_entry"], party["now"]):
        raise PartyOver()


def create(tx: OutboxTx, auth_uid: str, *, party_id: int, guest_id: int) -> Invite:
    """Invites the guest and writes an ``invite-created`` event with it."""
    host_id = id_for(tx, auth_uid)
    party = tx.one(
        "SELECT host_id, flat, title, first_entry, cancelled_at, now() AS now"
        " FROM parties WHERE id = :id",
        id=party_id,
    )
    if party is None:
        raise PartyNotFound()
    if party["host_id"] != host_id:
        raise NotHost("Only the party's host can invite guests.")
    guest_uid = tx.scalar("SELECT auth_uid FROM users WHERE id = :id", id=guest_id)
    # Someone who has blocked the host is, to the host, nobody (DESIGN §12).
    if guest_uid is None or blocks.has_blocked(tx, guest_id, host_id):
        raise GuestNotFound()
    if guest_id == host_id:
        raise SelfInvite()
    _check_open(party)
    quotas.spend(tx, auth_uid, "invites")
    # ON CONFLICT makes concurrent identical calls safe: exactly one inserts, the rest see
    # no row and answer 409, without an aborted transaction to clean up.
    row = tx.one(
        "INSERT INTO invites (party_id, party_first_entry, guest_id)"
        " VALUES (:party, :first_entry, :guest)"
        f" ON CONFLICT (party_id, guest_id) DO NOTHING {_RETURNING}",
        party=party_id,
        first_entry=party["first_entry"],
        guest=guest_id,
    )
    if row is None:
        raise AlreadyInvited()
    invite = _invite(row)
    outbox.add(
        tx,
        "invite-created",
        {
            "invite_id": invite.id,
            "party_id": party_id,
            "flat": party["flat"],
            "title": party["title"],
            "first_entry": party["first_entry"].isoformat(),
            "guest_id": guest_id,
            "guest_auth_uid": guest_uid,
            "host_id": host_id,
            "host_auth_uid": auth_uid,
            "host_display_name": tx.scalar(
                "SELECT display_name FROM users WHERE id = :id", id=host_id
            ),
        },
    )
    return invite


def respond(tx: OutboxTx, auth_uid: str, *, party_id: int, response: Response) -> Invite:
    """Records the guest's answer; a changed answer writes an ``invite-responded`` event."""
    guest_id = id_for(tx, auth_uid)
    # Locks the invite so that two answers at once apply one after the other.
    party = tx.one(
        "SELECT i.id AS invite_id, i.status, p.flat, p.title, p.first_entry, p.cancelled_at,"
        "       now() AS now, h.id AS host_id, h.auth_uid AS host_auth_uid,"
        "       g.display_name AS guest_display_name"
        " FROM invites i JOIN parties p ON p.id = i.party_id"
        " JOIN users h ON h.id = p.host_id JOIN users g ON g.id = i.guest_id"
        " WHERE i.party_id = :party AND i.guest_id = :guest FOR UPDATE OF i",
        party=party_id,
        guest=guest_id,
    )
    if party is None:
        # The same answer whether the party is unknown or the caller is not invited to it:
        # a guest learns nothing about parties that are not theirs.
        raise InviteNotFound()
    _check_open(party)
    row = tx.one(
        "UPDATE invites SET status = :status,"
        " responded_at = CASE WHEN status = :status THEN responded_at ELSE now() END"
        f" WHERE id = :id {_RETURNING}",
        status=response,
        id=party["invite_id"],
    )
    assert row is not None, "the row is locked by this transaction"
    invite = _invite(row)
    if party["status"] != response:
        outbox.add(
            tx,
            "invite-responded",
            {
                "invite_id": invite.id,
                "party_id": party_id,
                "flat": party["flat"],
                "title": party["title"],
                "response": response,
                "guest_id": guest_id,
                "guest_auth_uid": auth_uid,
                "guest_display_name": party["guest_display_name"],
                "host_id": party["host_id"],
                "host_auth_uid": party["host_auth_uid"],
            },
        )
    return invite
