"""Capacity and the waitlist (DESIGN §11), and the lock every change to a party takes.

The rules, as pure functions (``admit``, ``promotable``, ``plus_ones_for``):

- *Heads* are the confirmed guests and their plus-ones. A party without a capacity has room for
  everyone.
- A confirmation is ``waitlisted`` when its heads (the guest and their plus-ones) would take the
  party over its capacity, or when anyone is already waiting: nobody jumps the queue.
- When heads drop (a decline, fewer plus-ones, a removed guest, a raised or removed capacity),
  the waitlist is promoted in the order of its answers, for as long as the first one waiting
  fits; a large party of friends at the front is not skipped for a smaller one behind it.
- Lowering the capacity below the heads takes no one's seat; it only stops new confirmations.
- A confirmed guest may bring fewer plus-ones at any time, and more only when they fit and
  nobody is waiting (``NoRoom`` otherwise: their seat is kept as it was, never put back in the
  queue).

Why no interleaving of requests can overbook a party
----------------------------------------------------
Every change that can add heads to a party (a confirmation, more plus-ones, a promotion) runs in
a transaction that first locks the party's row (``lock``: ``SELECT … FOR NO KEY UPDATE``), and
reads the heads and the waitlist only after it holds that lock. Two such transactions for the
same party cannot hold the lock at once: the second waits until the first commits or rolls
back. Transactions run at READ COMMITTED, where every statement sees what was committed before
the statement began, so the second one's head count, read after the first one committed and
released the lock, includes the first one's seats. Each admission is therefore decided on the
true head count, one after another, and heads ≤ capacity holds after every commit by induction
(a lowered capacity is the one way to have heads above it, and then nobody is admitted until
heads are below it again). Changes that only remove heads take the same lock too, so that the
waitlist is promoted in their transaction and in order; ``answer_seq`` is taken while holding the
lock, so its order is the order in which answers were served (the waitlist's arrival order).

FOR NO KEY UPDATE rather than FOR UPDATE: it excludes every other change to the party, and
still lets the row be read by writes that only add to the party.

Writes that add to a party without changing it
----------------------------------------------
create-invite, join-party, create-invite-link and send-reminders write rows that depend on the
party as it is: open (not cancelled, not over), and at its current ``first_entry`` (an invite
copies it; a reminder is for it). Each reads the party's row ``FOR SHARE`` (``SHARED_PARTY``
beside the caller's role, or a statement of its own) and decides only after it holds that
lock. FOR SHARE conflicts with the change lock above (and with an UPDATE) but not with itself,
so:

- they run beside each other: two invites to one party never wait for one another;
- a cancel-party or update-party in flight is waited for, and its outcome seen (at READ
  COMMITTED, a row read after waiting for its lock is the row as committed): an invite to a
  party just cancelled is refused, an invite or a reminder to a party just moved is for the
  new time;
- a cancel-party or update-party waits for them in turn, and then finds their rows: the guest
  invited a moment before a cancellation is among those told of it, reminders sent a moment
  before a move are cleared by it.

A plain read, or the KEY SHARE of the invites' foreign key, would let them slip between a
change's statements: an invite committed on a party just cancelled, whose guest was never told;
a reminder of the old time recorded after the move cleared them. The cost is that an invite
waits for an answer in flight to the same party (milliseconds).

Lock order is always the party row first, then its invites and links, so two writes to one
party cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from realm import clock
from realm.db import Row, Tx
from realm.errors import NoRoom, PartyCancelled, PartyNotFound, PartyOver, TooManyPlusOnes
from realm.events import fanout, outbox
from realm.events.outbox import OutboxTx

Answer = Literal["confirmed", "declined"]
Status = Literal["invited", "confirmed", "declined", "waitlisted"]
COMING: frozenset[str] = frozenset({"confirmed", "waitlisted"})


# -- the rules ------------------------------------------------------------------------------


def fits(heads: int, capacity: int | None, more: int) -> bool:
    """Whether ``more`` heads fit beside ``heads`` (no capacity: always)."""
    return capacity is None or heads + more <= capacity


def admit(heads: int, capacity: int | None, size: int, anyone_waiting: bool) -> Status:
    """A new confirmation of ``size`` heads: confirmed if it fits and nobody waits before it."""
    return "confirmed" if not anyone_waiting and fits(heads, capacity, size) else "waitlisted"


def promotable(heads: int, capacity: int | None, waiting: Sequence[int]) -> int:
    """How many of the waitlist (its sizes, in order) are promoted: as long as the first one
    still waiting fits."""
    promoted = 0
    for size in waiting:
        if not fits(heads, capacity, size):
            break
        heads += size
        promoted += 1
    return promoted


def plus_ones_for(asked: int | None, current: int, current_status: str, allowance: int) -> int:
    """The plus-ones of a confirmation: those asked for, or (not asked) those the guest already
    has while coming. More than the party allows is refused, unless it is what the guest had
    before the host lowered the allowance (a lowered allowance, like a lowered capacity, takes
    nothing away)."""
    kept = current if current_status in COMING else 0
    if asked is None:
        return kept
    if asked > allowance and asked != kept:
        raise TooManyPlusOnes(f"This party allows at most {allowance} plus-one(s).")
    return asked


# -- the lock and the counts ----------------------------------------------------------------


# The party's row as ``lock`` gives it; a write holding the lock reads the row it changed
# with ``UPDATE parties ... RETURNING`` these.
LOCKED_COLUMNS = (
    "id, host_id, flat, title, description, first_entry, capacity, max_plus_ones,"
    " guest_list_visible, cancelled_at, now() AS now"
)


def lock(tx: Tx, party_id: int) -> Row:
    """The party's row, locked until the transaction ends (see the module docstring)."""
    row = tx.one(
        f"SELECT {LOCKED_COLUMNS} FROM parties WHERE id = :id FOR NO KEY UPDATE", id=party_id
    )
    if row is None:
        raise PartyNotFound()
    return row


# A party's row for a write that adds to the party without changing it (see the module
# docstring): locked FOR SHARE, as it is once the lock is held. No row: no such party.
SHARED_SQL = (
    "SELECT id, host_id, flat, title, first_entry, cancelled_at, now() AS now"
    " FROM parties WHERE id = :party FOR SHARE"
)


# SHARED_SQL as the party ``p`` of roles.caller_sql: the caller, their role and the party's row
# locked FOR SHARE, in one statement.
SHARED_PARTY = f"LATERAL ({SHARED_SQL}) p ON true"


def check_open(party: Row) -> None:
    """A party that is cancelled or over cannot be changed, nor answered."""
    if party["cancelled_at"] is not None:
        raise PartyCancelled()
    if clock.is_over(party["first_entry"], party["now"]):
        raise PartyOver()


def is_open(party: Row) -> bool:
    """Neither cancelled nor over (``check_open`` passes)."""
    return party["cancelled_at"] is None and not clock.is_over(party["first_entry"], party["now"])


# The heads, and whether anyone waits: each one range of invites_party_guests (the confirmed
# rows, read from the index alone; the first waitlisted row).
_HEADS = (
    "SELECT coalesce(sum(1 + plus_ones), 0) FROM invites"
    " WHERE party_id = :party AND status = 'confirmed'"
)
_WAITING = "EXISTS (SELECT 1 FROM invites WHERE party_id = :party AND status = 'waitlisted')"
_SEATS = f"SELECT ({_HEADS}) AS heads, {_WAITING} AS waiting"


def heads(tx: Tx, party_id: int) -> int:
    """The confirmed guests and their plus-ones (call it holding the party's lock)."""
    return int(tx.scalar(_HEADS, party=party_id))


def seats(tx: Tx, party_id: int) -> tuple[int, bool]:
    """The heads (as :func:`heads`) and whether anyone is on the waitlist, in one statement
    (call it holding the party's lock)."""
    row = tx.one(_SEATS, party=party_id)
    assert row is not None, "a SELECT without FROM gives one row"
    return int(row["heads"]), bool(row["waiting"])


# -- changes (each in a transaction holding the party's lock) --------------------------------


def answer(
    tx: OutboxTx, party: Row, invite: Row, response: Answer, plus_ones: int | None
) -> tuple[str, int]:
    """Applies a guest's answer to their invite (``invite``: id, status, plus_ones) and promotes
    the waitlist if seats were freed. Returns the invite's (status, plus_ones) afterwards."""
    party_id, status, current = party["id"], str(invite["status"]), int(invite["plus_ones"])
    if response == "declined":
        new_status, new_plus = "declined", 0
    else:
        new_plus = plus_ones_for(plus_ones, current, status, int(party["max_plus_ones"]))
        if status == "confirmed":
            new_status = "confirmed"
            more = new_plus - current
            if more > 0:
                seated, waiting = seats(tx, party_id)
                if waiting or not fits(seated, party["capacity"], more):
                    raise NoRoom()
        elif status == "waitlisted":
            new_status = "waitlisted"  # the same place in the queue, whatever the plus-ones
        else:
            seated, waiting = seats(tx, party_id)
            new_status = admit(seated, party["capacity"], 1 + new_plus, waiting)
    if (new_status, new_plus) != (status, current):
        # A new answer takes a new place in the order of answers; a change of plus-ones alone
        # keeps it (the waitlist's order is the order of answers, not of edits).
        tx.execute(
            "UPDATE invites SET status = :status, plus_ones = :plus_ones,"
            " answer_seq = CASE WHEN status = :status THEN answer_seq"
            "                   ELSE nextval('invites_answer_seq') END,"
            " responded_at = CASE WHEN status = :status THEN responded_at ELSE now() END"
            " WHERE id = :id",
            status=new_status,
            plus_ones=new_plus,
            id=invite["id"],
        )
    if promote(tx, party) and new_status == "waitlisted":
        new_status = str(tx.scalar("SELECT status FROM invites WHERE id = :id", id=invite["id"]))
    return new_status, new_plus


def promote(tx: OutboxTx, party: Row) -> list[int]:
    """Promotes the waitlist as far as the party's capacity allows; tells each promoted guest
    (one ``waitlist-promoted`` event for them all). Returns the promoted guests' ids."""
    party_id, capacity = party["id"], party["capacity"]
    seated = heads(tx, party_id)
    room = None if capacity is None else capacity - seated
    if room is not None and room <= 0:
        return []
    # No more than `room` can fit (each brings at least themselves).
    waiting = tx.all(
        "SELECT id, guest_id, 1 + plus_ones AS size FROM invites"
        " WHERE party_id = :party AND status = 'waitlisted'"
        " ORDER BY answer_seq LIMIT :limit",
        party=party_id,
        limit=room if room is not None else 2**31 - 1,
    )
    promoted = waiting[: promotable(seated, capacity, [int(row["size"]) for row in waiting])]
    if not promoted:
        return []
    tx.execute(
        "UPDATE invites SET status = 'confirmed' WHERE id = ANY(CAST(:ids AS bigint[]))",
        ids=[row["id"] for row in promoted],
    )
    guests = [int(row["guest_id"]) for row in promoted]
    event = outbox.add(tx, "waitlist-promoted", {**about(party), "guest_ids": guests})
    fanout.add_recipient_ids(tx, event, guests)
    return guests


def about(party: Row) -> dict[str, Any]:
    """What every party event says about the party (realm.events.notify reads it)."""
    return {
        "party_id": party["id"],
        "flat": party["flat"],
        "title": party["title"],
        "first_entry": party["first_entry"].isoformat(),
    }
