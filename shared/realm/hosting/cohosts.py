"""Co-hosts: the host shares the work of a party (add-cohost, remove-cohost).

Only the host manages co-hosts (a co-host or a guest gets 403 ``not_host``, anyone else 404).
Someone who has blocked the host cannot be made their co-host: to the host they are an unknown
user (``user_not_found``), as they are to create-invite (DESIGN §12, realm.people.blocks).
A co-host may invite, change the party, see and edit its guest list (realm.hosting.roles).
Being made co-host is told to the new co-host (``cohost-added``); being removed is not told.
"""

from __future__ import annotations

from dataclasses import dataclass

from realm.errors import AlreadyCohost, CohostNotFound, SelfCohost, UserNotFound
from realm.events import fanout, outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, roles
from realm.people import blocks, users
from realm.people.users import Summary


@dataclass(frozen=True)
class Cohost:
    party_id: int
    user: Summary


def add(tx: OutboxTx, auth_uid: str, party_id: int, user_id: int) -> Cohost:
    """Makes ``user_id`` a co-host of the party."""
    host = roles.caller(tx, auth_uid, party_id)
    roles.as_host(host.role)
    party = capacity.lock(tx, party_id)
    capacity.check_open(party)
    if user_id == host.user_id:
        raise SelfCohost()
    cohost = users.summary_of(tx, user_id)
    # Whoever blocked the host is nobody to them: the very answer for an unknown id, and no
    # role nor "made you a co-host" notification reaches the blocker.
    if cohost is None or blocks.has_blocked(tx, user_id, host.user_id):
        raise UserNotFound()
    added = tx.scalar(
        "INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)"
        " SELECT id, first_entry, :user, 'cohost' FROM parties WHERE id = :party"
        " ON CONFLICT (party_id, user_id) DO NOTHING RETURNING user_id",
        party=party_id,
        user=user_id,
    )
    if added is None:
        raise AlreadyCohost()
    # Who named the co-host, by id and uid too: deleting that account finds the event, and
    # notify-guest knows whose name it would show (realm.events.erased).
    event = outbox.add(
        tx,
        "cohost-added",
        {
            **capacity.about(party),
            "host_id": host.user_id,
            "host_auth_uid": auth_uid,
            "host_display_name": host.display_name,
        },
    )
    fanout.add_recipient_ids(tx, event, [user_id])
    return Cohost(party_id, cohost)


def remove(tx: OutboxTx, auth_uid: str, party_id: int, user_id: int) -> Cohost:
    """Takes the co-host role away (any invite they had stays)."""
    roles.as_host(roles.caller(tx, auth_uid, party_id).role)
    party = capacity.lock(tx, party_id)
    capacity.check_open(party)
    removed = tx.scalar(
        "DELETE FROM party_hosts WHERE party_id = :party AND user_id = :user"
        " AND role = 'cohost' RETURNING user_id",
        party=party_id,
        user=user_id,
    )
    if removed is None:
        raise CohostNotFound()
    cohost = users.summary_of(tx, user_id)
    assert cohost is not None, "the party_hosts row referenced them"
    return Cohost(party_id, cohost)
