"""Who someone is to a party: its host, a co-host, an invited guest, or nobody.

Every rule about who may see or change a party starts here, so that the answer is the same
everywhere: anyone who is nobody to a party is told it does not exist (``PartyNotFound``),
whether or not it does.
"""

from __future__ import annotations

from typing import Literal

from realm.db import Tx
from realm.errors import NotHost, PartyNotFound

Role = Literal["host", "cohost", "guest"]
MANAGERS: frozenset[Role] = frozenset({"host", "cohost"})


def role_of(tx: Tx, party_id: int, user_id: int) -> Role | None:
    """The user's role in the party, or None when they are nobody to it (or it is unknown)."""
    row = tx.one(
        "SELECT p.host_id = :user AS is_host,"
        "       EXISTS (SELECT 1 FROM invites i WHERE i.party_id = p.id AND i.guest_id = :user)"
        "         AS is_guest"
        " FROM parties p WHERE p.id = :party",
        party=party_id,
        user=user_id,
    )
    if row is None:
        return None
    if row["is_host"]:
        return "host"
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
