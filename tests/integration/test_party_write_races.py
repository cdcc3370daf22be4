"""Writes that add to a party (an invite, a join by link, a new link, a reminder) racing the
changes that end or move it (cancel-party, update-party), against the real PostgreSQL.

Each test holds one of the two in an open transaction while the other runs
(tests.integration.interleave): the interleaving that lost a cancellation's news, invited to a
cancelled party or reminded of a moved party's old time, every time, without a sleep. Either
order must end as if the two had run one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from realm import db, errors
from realm.events.outbox import OutboxTx
from realm.hosting import changes, invites, reminders
from realm.people import links
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours
from tests.integration.interleave import while_held

# -- the cast ----------------------------------------------------------------------------------


class Party:
    """A host, a co-host, a confirmed guest and someone not yet invited, and their party."""

    def __init__(self, first_entry: datetime) -> None:
        with db.transaction() as tx:
            self.host = add_user(tx, "race-host", "Hana")
            self.cohost = add_user(tx, "race-cohost", "Cora")
            self.confirmed = add_user(tx, "race-guest", "Gus")
            self.newcomer = add_user(tx, "race-newcomer", "Nell")
            self.id = add_party(tx, self.host, first_entry)
            add_cohost(tx, self.id, self.cohost)
            add_invite(tx, self.id, self.confirmed, status="confirmed")
        self.token = ""

    def cancel(self, tx: OutboxTx) -> Any:
        return changes.cancel(tx, "race-host", self.id)

    def move(self, first_entry: datetime) -> Callable[[OutboxTx], Any]:
        return lambda tx: changes.update(tx, "race-host", self.id, {"first_entry": first_entry})

    def invite(self, tx: OutboxTx) -> invites.Invite:
        return invites.create(tx, "race-cohost", party_id=self.id, guest_id=self.newcomer)

    def join(self, tx: OutboxTx) -> links.Joined:
        return links.join(tx, "race-newcomer", self.token)

    def with_link(self) -> Party:
        with db.transaction() as tx:
            self.token = links.create(
                tx, "race-host", party_id=self.id, expires_at=None, max_uses=None
            ).token
        return self

    def new_link(self, tx: OutboxTx) -> links.NewLink:
        return links.create(tx, "race-cohost", party_id=self.id, expires_at=None, max_uses=None)

    def remind(self, tx: OutboxTx) -> list[int]:
        return reminders.remind(tx, self.id)

    def told_of(self, event_type: str) -> set[int]:
        """Who the party's events of this type were written for."""
        with db.transaction() as tx:
            rows = tx.all(
                "SELECT r.user_id FROM notification_recipients r"
                " JOIN outbox o ON o.event_id = r.event_id"
                " WHERE o.type = :type AND (o.message -> 'data' ->> 'party_id')::bigint = :party",
                type=event_type,
                party=self.id,
            )
        return {int(row["user_id"]) for row in rows}

    def invited(self) -> dict[int, datetime]:
        """Each invite's guest and the copy of the party's first entry it holds."""
        with db.transaction() as tx:
            rows = tx.all(
                "SELECT guest_id, party_first_entry FROM invites WHERE party_id = :party",
                party=self.id,
            )
        return {int(row["guest_id"]): row["party_first_entry"] for row in rows}

    def reminded(self) -> set[int]:
        with db.transaction() as tx:
            rows = tx.all("SELECT guest_id FROM reminders_sent WHERE party_id = :p", p=self.id)
        return {int(row["guest_id"]) for row in rows}


pytestmark = pytest.mark.usefixtures("clean_db")


# -- cancel-party ------------------------------------------------------------------------------


def test_an_invite_sent_while_the_party_is_being_cancelled_is_refused(
    race_pool: db.Pool,
) -> None:
    party = Party(in_hours(24))

    invited = while_held(race_pool, party.cancel, party.invite)

    with pytest.raises(errors.PartyCancelled):
        invited.result()
    assert set(party.invited()) == {party.confirmed}


def test_a_cancellation_while_an_invite_is_being_sent_tells_the_new_guest(
    race_pool: db.Pool,
) -> None:
    party = Party(in_hours(24))

    cancelled = while_held(race_pool, party.invite, party.cancel)

    assert cancelled.result().cancelled_at is not None
    assert party.newcomer in party.told_of("party-cancelled")


def test_joining_by_link_while_the_party_is_being_cancelled_is_refused(
    race_pool: db.Pool,
) -> None:
    party = Party(in_hours(24)).with_link()

    joined = while_held(race_pool, party.cancel, party.join)

    with pytest.raises(errors.PartyCancelled):
        joined.result()
    assert set(party.invited()) == {party.confirmed}


def test_a_cancellation_while_someone_joins_by_link_tells_them(race_pool: db.Pool) -> None:
    party = Party(in_hours(24)).with_link()

    cancelled = while_held(race_pool, party.join, party.cancel)

    assert cancelled.result().cancelled_at is not None
    assert party.newcomer in party.told_of("party-cancelled")


def test_no_link_is_made_to_a_party_being_cancelled(race_pool: db.Pool) -> None:
    party = Party(in_hours(24))

    made = while_held(race_pool, party.cancel, party.new_link)

    with pytest.raises(errors.PartyCancelled):
        made.result()


def test_no_reminder_goes_out_for_a_party_being_cancelled(race_pool: db.Pool) -> None:
    party = Party(in_hours(2))

    reminded = while_held(race_pool, party.cancel, party.remind)

    assert reminded.result() == []
    assert party.reminded() == set()
    assert party.told_of("party-reminder") == set()


# -- update-party moving first_entry -----------------------------------------------------------


def test_an_invite_sent_while_the_party_moves_is_for_the_new_time(race_pool: db.Pool) -> None:
    party, later = Party(in_hours(24)), in_hours(30)

    invited = while_held(race_pool, party.move(later), party.invite)

    assert invited.result().guest_id == party.newcomer
    assert party.invited()[party.newcomer] == later


def test_joining_by_link_while_the_party_moves_is_for_the_new_time(race_pool: db.Pool) -> None:
    party, later = Party(in_hours(24)).with_link(), in_hours(30)

    joined = while_held(race_pool, party.move(later), party.join)

    assert joined.result().created
    assert party.invited()[party.newcomer] == later


def test_no_reminder_goes_out_while_the_party_moves_out_of_the_next_day(
    race_pool: db.Pool,
) -> None:
    party = Party(in_hours(2))

    reminded = while_held(race_pool, party.move(in_hours(48)), party.remind)

    assert reminded.result() == []
    assert party.reminded() == set(), "the guest is still to be reminded of the new time"


def test_a_reminder_sent_while_the_party_moves_nearer_tells_the_new_time(
    race_pool: db.Pool,
) -> None:
    party, sooner = Party(in_hours(3)), in_hours(2)

    reminded = while_held(race_pool, party.move(sooner), party.remind)

    assert reminded.result() == [party.confirmed]
    with db.transaction() as tx:
        told = tx.scalar(
            "SELECT message -> 'data' ->> 'first_entry' FROM outbox WHERE type = 'party-reminder'"
        )
    assert datetime.fromisoformat(told) == sooner
