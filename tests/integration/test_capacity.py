"""Capacity, plus-ones and the waitlist against PostgreSQL, one request after another."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realm.db import Tx
from realm.errors import NoRoom, TooManyPlusOnes
from realm.events.outbox import OutboxTx
from realm.hosting import changes, invites
from tests.helpers import add_invite, add_party, add_user, in_hours


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


class Party:
    """A party with a host and invited guests uid-0, uid-1, … (arranged in ``otx``)."""

    def __init__(self, otx: OutboxTx, guests: int, capacity: int | None, plus: int = 0) -> None:
        self.tx = otx
        self.host = add_user(otx, "host")
        self.id = add_party(otx, self.host, in_hours(24), capacity=capacity, max_plus_ones=plus)
        self.guests = [add_user(otx, f"uid-{n}") for n in range(guests)]
        for guest in self.guests:
            add_invite(otx, self.id, guest)

    def respond(self, n: int, response: str = "confirmed", plus_ones: int | None = None) -> str:
        invite = invites.respond(
            self.tx,
            f"uid-{n}",
            party_id=self.id,
            response=response,  # type: ignore[arg-type]
            plus_ones=plus_ones,
        )
        return invite.status

    def statuses(self) -> list[str]:
        return [
            str(
                self.tx.scalar(
                    "SELECT status FROM invites WHERE party_id = :p AND guest_id = :g",
                    p=self.id,
                    g=guest,
                )
            )
            for guest in self.guests
        ]

    def heads(self) -> int:
        return int(
            self.tx.scalar(
                "SELECT coalesce(sum(1 + plus_ones), 0) FROM invites"
                " WHERE party_id = :p AND status = 'confirmed'",
                p=self.id,
            )
        )

    def events(self, event_type: str) -> list[dict[str, Any]]:
        rows = self.tx.all(
            "SELECT event_id, message FROM outbox WHERE type = :t ORDER BY id", t=event_type
        )
        found = []
        for row in rows:
            message = row["message"]
            message = json.loads(message) if isinstance(message, str) else message
            recipients = [
                r["user_id"]
                for r in self.tx.all(
                    "SELECT user_id FROM notification_recipients WHERE event_id = :e"
                    " ORDER BY user_id",
                    e=row["event_id"],
                )
            ]
            found.append({**message["data"], "recipients": recipients})
        return found


def test_confirmations_beyond_capacity_wait_in_the_order_they_came(otx: OutboxTx) -> None:
    party = Party(otx, 4, capacity=2)
    assert [party.respond(n) for n in range(4)] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert party.heads() == 2


def test_a_decline_promotes_the_first_one_waiting_and_tells_them(otx: OutboxTx) -> None:
    party = Party(otx, 4, capacity=2)
    for n in range(4):
        party.respond(n)

    assert party.respond(0, "declined") == "declined"

    assert party.statuses() == ["declined", "confirmed", "confirmed", "waitlisted"]
    [promoted] = party.events("waitlist-promoted")
    assert promoted["recipients"] == [party.guests[2]]
    assert promoted["party_id"] == party.id


def test_plus_ones_count_as_heads_and_a_group_that_does_not_fit_waits(otx: OutboxTx) -> None:
    party = Party(otx, 3, capacity=4, plus=3)
    assert party.respond(0, plus_ones=2) == "confirmed"
    assert party.respond(1, plus_ones=1) == "waitlisted", "3 + 2 heads > 4"
    assert party.respond(2) == "waitlisted", "nobody jumps the queue, though 1 head would fit"
    assert party.heads() == 3


def test_fewer_plus_ones_free_seats_for_the_waitlist(otx: OutboxTx) -> None:
    party = Party(otx, 2, capacity=3, plus=3)
    party.respond(0, plus_ones=2)
    party.respond(1)

    assert party.respond(0, plus_ones=1) == "confirmed"

    assert party.statuses() == ["confirmed", "confirmed"]
    assert party.heads() == 3


def test_a_waiting_guest_who_brings_fewer_people_and_then_fits_is_promoted_at_once(
    otx: OutboxTx,
) -> None:
    party = Party(otx, 2, capacity=3, plus=3)
    party.respond(0)
    assert party.respond(1, plus_ones=2) == "waitlisted"
    assert party.respond(1, plus_ones=1) == "confirmed"


def test_more_plus_ones_than_fit_are_refused_and_the_seat_is_kept(otx: OutboxTx) -> None:
    party = Party(otx, 2, capacity=3, plus=3)
    party.respond(0, plus_ones=1)
    party.respond(1)
    with pytest.raises(NoRoom):
        party.respond(0, plus_ones=2)
    assert party.statuses() == ["confirmed", "confirmed"]
    assert party.heads() == 3


def test_more_plus_ones_than_the_party_allows_are_refused(otx: OutboxTx) -> None:
    party = Party(otx, 1, capacity=None, plus=1)
    with pytest.raises(TooManyPlusOnes):
        party.respond(0, plus_ones=2)
    assert party.statuses() == ["invited"]


def test_a_declined_guest_brings_nobody(otx: OutboxTx) -> None:
    party = Party(otx, 1, capacity=None, plus=2)
    party.respond(0, plus_ones=2)
    party.respond(0, "declined")
    assert otx.scalar("SELECT plus_ones FROM invites WHERE guest_id = :g", g=party.guests[0]) == 0


def test_a_raised_capacity_promotes_as_many_as_now_fit(otx: OutboxTx) -> None:
    party = Party(otx, 5, capacity=1)
    for n in range(5):
        party.respond(n)

    changes.update(otx, "host", party.id, {"capacity": 3})

    assert party.statuses() == ["confirmed", "confirmed", "confirmed", "waitlisted", "waitlisted"]
    [promoted] = party.events("waitlist-promoted")
    assert promoted["recipients"] == sorted(party.guests[1:3])


def test_a_removed_capacity_promotes_everyone(otx: OutboxTx) -> None:
    party = Party(otx, 3, capacity=1)
    for n in range(3):
        party.respond(n)
    changes.update(otx, "host", party.id, {"capacity": None})
    assert party.statuses() == ["confirmed"] * 3


def test_a_lowered_capacity_takes_no_seat_and_stops_new_confirmations(otx: OutboxTx) -> None:
    party = Party(otx, 4, capacity=3)
    for n in range(3):
        party.respond(n)

    changes.update(otx, "host", party.id, {"capacity": 1})

    assert party.statuses() == ["confirmed", "confirmed", "confirmed", "invited"]
    assert party.respond(3) == "waitlisted"
    party.respond(0, "declined")
    assert party.statuses()[3] == "waitlisted", "heads (2) are still over the capacity (1)"


def test_a_removed_guest_frees_their_seat_for_the_waitlist(otx: OutboxTx) -> None:
    party = Party(otx, 3, capacity=2)
    for n in range(3):
        party.respond(n)

    changes.remove_guest(otx, "host", party.id, party.guests[0])

    assert party.statuses()[1:] == ["confirmed", "confirmed"]
    assert otx.scalar("SELECT count(*) FROM invites WHERE party_id = :p", p=party.id) == 2


def test_the_host_hears_of_a_confirmation_that_waits(otx: OutboxTx) -> None:
    party = Party(otx, 2, capacity=1)
    party.respond(0)
    party.respond(1)
    responses = [event["response"] for event in party.events("invite-responded")]
    assert responses == ["confirmed", "waitlisted"]
