"""Who someone is to a party: its host, a co-host, an invited guest, or nobody.

Every rule about who may see or change a party starts here, so that the answer is the same
everywhere: anyone who is nobody to a party is told it does not exist (``PartyNotFound``),
whether or not it does. DESIGN §11's table, in one place:

- the host: everything;
- a co-host: invite, update the party, see the whole guest list, remove guests, manage invite
  links (``require_manager``); not cancel, not manage co-hosts (``require_host``: 403);
- an invited guest (whatever their answer): see the party, and its confirmed guests when the
  host made the guest list visible (realm.hosting.guests); anything else is 403 ``not_host``.
"""

from __future__ import annotations

from typing import Literal

from realm.db import Tx
from realm.errors import NotHost, PartyNotFound

Role = Literal["host", "cohost", "guest"]
MANAGERS: frozenset[Role] = frozenset({"host", "cohost"})


def role_of(tx: Tx, party_id: int, user_id: int) -> Role | None:
    """The user's role in the party, or None when they are nobody to it (or it is unknown).

    A co-host who is also invited is a co-host: the stronger role wins."""
    row = tx.one(
        "SELECT (SELECT m.role FROM party_hosts m WHERE m.party_id = p.id AND m.user_id = :user)"
        "         AS manager,"
        "       EXISTS (SELECT 1 FROM invites i WHERE i.party_id = p.id AND i.guest_id = :user)"
        "         AS is_guest"
        " FROM parties p WHERE p.id = :party",
        party=party_id,
        user=user_id,
    )
    if row is None:
        return None
    if row["manager"] == "host":
        return "host"
    if row["manager"] == "cohost":
        return "cohost"
    return "guest" if row["is_guest"] else None


def require_manager(tx: Tx, party_id: int, user_id: int) -> Role:
    """The caller's role when they host or co-host the party; ``NotHost`` for its guests and
    ``PartyNotFound`` for everyone else."""
    role = role_of(tx, party_id, user_id)
    if role is None:
        raise PartyNotFound()
    if role not in MANAGERS:
        raise NotHost()
    return role


def require_host(tx: Tx, party_id: int, user_id: int) -> None:
    """Passes the party's host only: ``NotHost`` for its co-hosts and guests, and
    ``PartyNotFound`` for everyone else."""
    role = role_of(tx, party_id, user_id)
    if role is None:
        raise PartyNotFound()
    if role != "host":
        raise NotHost()
