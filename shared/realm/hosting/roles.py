"""Who someone is to a party: its host, a co-host, an invited guest, or nobody.

Every rule about who may see or change a party starts here, so that the answer is the same
everywhere: anyone who is nobody to a party is told it does not exist (``PartyNotFound``),
whether or not it does. DESIGN §11's table, in one place:

- the host: everything;
- a co-host: invite, update the party, see the whole guest list, remove guests, manage invite
  links (``as_manager``); not cancel, not manage co-hosts (``as_host``: 403);
- an invited guest (whatever their answer): see the party, and its confirmed guests when the
  host made the guest list visible (realm.hosting.guests); anything else is 403 ``not_host``.

A write reads the caller and their role in one statement (``caller``; ``SignupRequired``
first for whoever never signed up), without a lock and before it takes the party's
(realm.hosting.capacity), then checks the role with ``as_manager`` or ``as_host``.
``role_of`` reads the role of a user id already known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from realm.db import Row, Tx
from realm.errors import NotHost, PartyNotFound, SignupRequired

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


def as_host(role: str | None) -> None:
    """Passes ``role`` (from :func:`role_sql`) when it is the host's: ``NotHost`` for a co-host
    or a guest and ``PartyNotFound`` for nobody, as :func:`as_manager` says."""
    if as_manager(role) != "host":
        raise NotHost()


@dataclass(frozen=True)
class Caller:
    """Who calls (their id and the name their events show) and their role in the party of the
    call (None: nobody to it, or no such party)."""

    user_id: int
    display_name: str
    role: Role | None


def caller_sql(party_columns: str = "", party: str = "parties p ON p.id = :party") -> str:
    """SQL (``:uid``, ``:party``) for the caller and their role in the party, in one statement.
    ``party`` is what is joined as the party ``p``: by default its row, read without a lock (a
    write takes the party's lock after it: realm.hosting.capacity), or capacity.SHARED_PARTY,
    its row locked FOR SHARE. ``party_columns`` adds columns of ``p`` (NULL when there is no
    such party). No row: the caller never signed up; read it with :func:`caller_from`."""
    more = f", {party_columns}" if party_columns else ""
    return (
        "WITH me AS (SELECT id, display_name FROM users WHERE auth_uid = :uid)"
        f" SELECT me.id, me.display_name, {role_sql('p', 'me.id')} AS role{more}"
        f" FROM me LEFT JOIN {party}"
    )


def caller_from(row: Row | None) -> Caller:
    """The caller in a row of :func:`caller_sql`; ``SignupRequired`` when there is none."""
    if row is None:
        raise SignupRequired()
    return Caller(int(row["id"]), str(row["display_name"]), _ROLES.get(row["role"]))


_CALLER = caller_sql()


def caller(tx: Tx, auth_uid: str, party_id: int) -> Caller:
    """The caller and their role in the party (``SignupRequired`` if they never signed up),
    in one statement: check the role with :func:`as_manager` or :func:`as_host`."""
    return caller_from(tx.one(_CALLER, uid=auth_uid, party=party_id))
