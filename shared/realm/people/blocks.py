"""Blocking: a user shuts another out (DESIGN §12).

What a block does, and where each effect is enforced:

- the blocked user cannot invite the blocker: ``hosting.invites.create`` asks ``has_blocked``
  and answers ``GuestNotFound``, exactly as for an unknown user (by id or by handle);
- the blocked user cannot make the blocker a co-host: ``hosting.cohosts.add`` answers
  ``UserNotFound``, exactly as for an unknown user id;
- the blocked user cannot join the blocker's parties by link (``people.links.join`` answers
  ``LinkNotFound``, as for an unknown token);
- neither finds the other, in ``find-users`` or ``match-contacts`` (``hidden_ids_sql``);
- existing invites stay as they are, and nobody is ever told of a block.

Blocking and unblocking are idempotent. Blocking a user who has blocked you works and answers
exactly as blocking anyone else: nothing in any answer depends on whether the other user has
blocked the caller, except the answers above that are the same as for an unknown user.
"""

from __future__ import annotations

from realm.db import Tx
from realm.errors import SelfBlock, UserNotFound
from realm.people.users import id_for


def _require_other_user(tx: Tx, blocker_id: int, user_id: int) -> None:
    if user_id == blocker_id:
        raise SelfBlock()
    if tx.scalar("SELECT 1 FROM users WHERE id = :id", id=user_id) is None:
        raise UserNotFound()


def block(tx: Tx, auth_uid: str, user_id: int) -> None:
    """The caller blocks ``user_id``; blocking again changes nothing."""
    blocker_id = id_for(tx, auth_uid)
    _require_other_user(tx, blocker_id, user_id)
    tx.execute(
        "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:blocker, :blocked)"
        " ON CONFLICT DO NOTHING",
        blocker=blocker_id,
        blocked=user_id,
    )


def unblock(tx: Tx, auth_uid: str, user_id: int) -> None:
    """The caller lifts their block of ``user_id``; there may be none."""
    blocker_id = id_for(tx, auth_uid)
    _require_other_user(tx, blocker_id, user_id)
    tx.execute(
        "DELETE FROM blocks WHERE blocker_id = :blocker AND blocked_id = :blocked",
        blocker=blocker_id,
        blocked=user_id,
    )


def has_blocked_sql(blocker: str, blocked: str) -> str:
    """SQL that is true when the user whose id is the SQL expression ``blocker`` has blocked
    the one whose id is ``blocked`` (one direction only), for a statement to decide in one go."""
    return f"EXISTS (SELECT 1 FROM blocks WHERE blocker_id = {blocker} AND blocked_id = {blocked})"


def has_blocked(tx: Tx, blocker_id: int, blocked_id: int) -> bool:
    """Whether ``blocker_id`` has blocked ``blocked_id`` (one direction only)."""
    return bool(
        tx.scalar(
            f"SELECT {has_blocked_sql(':blocker', ':blocked')}",
            blocker=blocker_id,
            blocked=blocked_id,
        )
    )


def hidden_ids_sql(user_id: str) -> str:
    """SQL for the array of the ids that the user whose id is the SQL expression ``user_id``
    must never find nor be found by: everyone they blocked and everyone who blocked them.

    One array per query (an InitPlan), then a cheap ``<> ALL`` per candidate row: a user has
    few blocks, and a search looks at many rows."""
    # The CAST makes it an array expression: ``x <> ALL (<this>)`` compares with each element.
    return (
        "CAST((SELECT COALESCE(array_agg(other), CAST('{}' AS bigint[])) FROM ("
        f" SELECT blocked_id AS other FROM blocks WHERE blocker_id = {user_id}"
        " UNION ALL"
        f" SELECT blocker_id FROM blocks WHERE blocked_id = {user_id}) across_a_block)"
        " AS bigint[])"
    )
