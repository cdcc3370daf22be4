"""The host's changes to a party: update-party, cancel-party, remove-guest (DESIGN §11).

Each runs in one transaction holding the party's lock (realm.hosting.capacity), with its
events in the outbox: a new time or place (``party-updated``) and a cancellation
(``party-cancelled``) are told to everyone concerned, i.e. the guests who have not declined and
the party's hosts, except whoever made the change; seats freed by a raised capacity or a
removed guest promote the waitlist (``waitlist-promoted``). A past or cancelled party cannot be
changed (422).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from realm import clock
from realm.db import Row
from realm.errors import FirstEntryPassed, GuestNotFound, TooFarAhead
from realm.events import fanout, outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, roles
from realm.hosting.parties import Detail, detail

# The fields update-party may change, each a column of parties.
EDITABLE = (
    "flat",
    "title",
    "description",
    "first_entry",
    "capacity",
    "max_plus_ones",
    "guest_list_visible",
)
# A change of these is told to the guests (DESIGN §11: a moved or relocated party).
TOLD = frozenset({"first_entry", "flat"})

# Who hears of a change to the party: its guests who have not declined, and its hosts, except
# whoever made the change.
CONCERNED = """
SELECT guest_id AS user_id FROM invites
 WHERE party_id = :party AND status <> 'declined' AND guest_id <> :actor
UNION
SELECT user_id FROM party_hosts WHERE party_id = :party AND user_id <> :actor
"""


def update(tx: OutboxTx, auth_uid: str, party_id: int, changes: Mapping[str, Any]) -> Detail:
    """Applies the host's (or a co-host's) ``changes`` (a subset of ``EDITABLE``; ``None``
    clears title, description and capacity). A moved or relocated party writes a
    ``party-updated`` event for everyone concerned; a raised or removed capacity promotes the
    waitlist. Calendars see a new revision whenever anything changed."""
    unknown = set(changes) - set(EDITABLE)
    assert not unknown, f"not editable: {unknown}"
    me = roles.caller(tx, auth_uid, party_id)
    roles.as_manager(me.role)
    party = capacity.lock(tx, party_id)
    capacity.check_open(party)
    if "first_entry" in changes:
        moved_to: datetime = changes["first_entry"]
        if moved_to <= party["now"]:
            raise FirstEntryPassed()
        if moved_to - party["now"] > clock.PLANNING_HORIZON:
            raise TooFarAhead()
    changed = {name: value for name, value in changes.items() if party[name] != value}
    if changed:
        assignments = ", ".join(f"{name} = :{name}" for name in changed)
        changed_row = tx.one(  # the row as changed, as capacity.lock reads it
            f"UPDATE parties SET {assignments}, revision = revision + 1, updated_at = now()"
            f" WHERE id = :party RETURNING {capacity.LOCKED_COLUMNS}",
            party=party_id,
            **changed,
        )
        assert changed_row is not None, "the party's lock keeps it"
        if "first_entry" in changed:
            # Reminders were for the old time; the guests are reminded of the new one.
            tx.execute("DELETE FROM reminders_sent WHERE party_id = :party", party=party_id)
        if TOLD & set(changed):
            event = outbox.add(
                tx,
                "party-updated",
                {
                    **capacity.about(changed_row),
                    "previous_flat": party["flat"],
                    "previous_first_entry": party["first_entry"].isoformat(),
                    "changed": sorted(TOLD & set(changed)),
                },
            )
            fanout.add_recipients(tx, event, CONCERNED, party=party_id, actor=me.user_id)
        if "capacity" in changed:
            capacity.promote(tx, changed_row)
    return detail(tx, auth_uid, party_id)


def cancel(tx: OutboxTx, auth_uid: str, party_id: int) -> Detail:
    """Cancels the party (its host only) and tells everyone concerned; cancelling it again
    changes nothing and tells nobody."""
    me = roles.caller(tx, auth_uid, party_id)
    roles.as_host(me.role)
    party = capacity.lock(tx, party_id)
    if party["cancelled_at"] is None:
        capacity.check_open(party)
        announce_cancellation(
            tx,
            party,
            me.user_id,
            host_id=me.user_id,
            host_auth_uid=auth_uid,
            host_display_name=me.display_name,
        )
    return detail(tx, auth_uid, party_id)


def announce_cancellation(tx: OutboxTx, party: Row, actor: int, **told: Any) -> None:
    """Marks the locked, open ``party`` cancelled and tells everyone concerned but ``actor``
    (a ``party-cancelled`` event with the party and ``told``: who cancelled it, or why).
    cancel-party and deleting the host's account (realm.accounts.deletion) both end here."""
    tx.execute(
        "UPDATE parties SET cancelled_at = now(), revision = revision + 1,"
        " updated_at = now() WHERE id = :party",
        party=party["id"],
    )
    event = outbox.add(tx, "party-cancelled", {**capacity.about(party), **told})
    fanout.add_recipients(tx, event, CONCERNED, party=party["id"], actor=actor)


def remove_guest(tx: OutboxTx, auth_uid: str, party_id: int, guest_id: int) -> None:
    """Removes the guest's invite (host or co-host); a seat they held goes to the waitlist.
    The guest is not told (DESIGN §11 names no notification for it)."""
    roles.as_manager(roles.caller(tx, auth_uid, party_id).role)
    party = capacity.lock(tx, party_id)
    capacity.check_open(party)
    if drop_invite(tx, party, guest_id) is None:
        raise GuestNotFound("This user is not on the party's guest list.")


def drop_invite(tx: OutboxTx, party: Row, guest_id: int) -> str | None:
    """Deletes the guest's invite to the locked ``party`` (and their reminder), and promotes
    the waitlist if they were coming to a party still open. Returns the invite's status, or
    None when they had none. remove-guest and deleting the guest's account
    (realm.accounts.deletion) both end here."""
    status = tx.scalar(
        "DELETE FROM invites WHERE party_id = :party AND guest_id = :guest RETURNING status",
        party=party["id"],
        guest=guest_id,
    )
    if status is None:
        return None
    tx.execute(
        "DELETE FROM reminders_sent WHERE party_id = :party AND guest_id = :guest",
        party=party["id"],
        guest=guest_id,
    )
    if status in capacity.COMING and capacity.is_open(party):
        capacity.promote(tx, party)
    return str(status)
