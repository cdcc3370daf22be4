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


def role_sql(party: str, user: str) -> str:
    """SQL for the role (text, NULL for nobody) of the user whose id is the SQL expression
    ``user`` in the party row aliased ``party`` (NULL when there is no such party), so that a
    write can read it in the statement that reads the rest of what it needs.

    A co-host who is also invited is a co-host: the stronger role wins."""
    return (
        f"COALESCE((SELECT m.role FROM party_hosts m WHERE m.party_id = {party}.id"
        f" AND m.user_id = {user}), CASE WHEN EXISTS (SELECT 1 FROM invites i"
        f" WHERE i.party_id = {party}.id AND i.guest_id = {user}) THEN 'guest' END)"
    )


def role_of(tx: Tx, party_id: int, user_id: int) -> Role | None:
    """The user's role in the party, or None when they are nobody to it (or it is unknown)."""
    role = tx.scalar(
        f"SELECT {role_sql('p', ':user')} FROM parties p WHERE p.id = :party",
        party=party_id,
        user=user_id,
    )
    return _ROLES.get(role)


_ROLES: dict[str | None, Role] = {"host": "host", "cohost": "cohost", "guest": "guest"}


def as_manager(role: str | None) -> Role:
    """``role`` (from :func:`role_sql`) when it is the host's or a co-host's; ``NotHost`` for a
    guest and ``PartyNotFound`` for nobody."""
    found = _ROLES.get(role)
    if found is None:
        raise PartyNotFound()
    if found not in MANAGERS:
        raise NotHost()
    return found


def require_manager(tx: Tx, party_id: int, user_id: int) -> Role:
    """The caller's role when they host or co-host the party; ``NotHost`` for its guests and
    ``PartyNotFound`` for everyone else."""
    return as_manager(role_of(tx, party_id, user_id))


def as_host(role: str | None) -> None:
    """Passes ``role`` (from :func:`role_sql`) when it is the host's: ``NotHost`` for a co-host
    or a guest and ``PartyNotFound`` for nobody, as :func:`as_manager` says."""
    if as_manager(role) != "host":
        raise NotHost()


def require_host(tx: Tx, party_id: int, user_id: int) -> None:
    """Passes the party's host only: ``NotHost`` for its co-hosts and guests, and
    ``PartyNotFound`` for everyone else."""
    as_host(role_of(tx, party_id, user_id))
