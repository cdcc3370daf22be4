"""A party's details, its changes, co-hosts, guest list, reminders and calendar feed, against
PostgreSQL (the HTTP layer is covered end to end in tests/e2e)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from realm import db
from realm.db import Tx
from realm.errors import (
    AlreadyCohost,
    CalendarNotFound,
    CohostNotFound,
    FirstEntryPassed,
    GuestListHidden,
    GuestNotFound,
    NotHost,
    PartyCancelled,
    PartyNotFound,
    PartyOver,
    SelfCohost,
    SignupRequired,
    UserNotFound,
)
from realm.events import outbox
from realm.events.outbox import OutboxTx
from realm.hosting import calendar, changes, cohosts, guests, parties, reminders
from realm.people import users
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


def events(tx: Tx, event_type: str) -> list[dict[str, Any]]:
    found = []
    for row in tx.all(
        "SELECT event_id, message FROM outbox WHERE type = :t ORDER BY id", t=event_type
    ):
        message = row["message"]
        message = json.loads(message) if isinstance(message, str) else message
        who = tx.all(
            "SELECT user_id FROM notification_recipients WHERE event_id = :e ORDER BY user_id",
            e=row["event_id"],
        )
        found.append({**message["data"], "recipients": [r["user_id"] for r in who]})
    return found


class Cast:
    """A host, a co-host, guests with each answer, and a stranger, at one party."""

    def __init__(self, tx: Tx, first_entry_hours: float = 48) -> None:
        self.host = add_user(tx, "host", "Hana")
        self.cohost = add_user(tx, "cohost", "Cora")
        self.invited = add_user(tx, "invited")
        self.confirmed = add_user(tx, "confirmed")
        self.waiting = add_user(tx, "waiting")
        self.declined = add_user(tx, "declined")
        self.stranger = add_user(tx, "stranger")
        self.party = add_party(tx, self.host, in_hours(first_entry_hours), flat="FLAT1")
        add_cohost(tx, self.party, self.cohost)
        add_invite(tx, self.party, self.invited)
        add_invite(tx, self.party, self.confirmed, "confirmed", plus_ones=0)
        add_invite(tx, self.party, self.waiting, "waitlisted")
        add_invite(tx, self.party, self.declined, "declined")


# -- get-party --------------------------------------------------------------------------------


def test_each_role_sees_the_party_with_its_counts_and_co_hosts(otx: OutboxTx) -> None:
    cast = Cast(otx)
    otx.execute(
        "UPDATE invites SET plus_ones = 2 WHERE guest_id = :g AND party_id = :p",
        g=cast.confirmed,
        p=cast.party,
    )
    host_view = parties.detail(otx, "host", cast.party)
    assert host_view.my_role == "host"
    assert host_view.my_invite is None
    assert host_view.counts == parties.Counts(
        invited=1, confirmed=1, declined=1, waitlisted=1, heads=3
    )
    assert [c.display_name for c in host_view.cohosts] == ["Cora"]
    assert parties.detail(otx, "cohost", cast.party).my_role == "cohost"
    guest_view = parties.detail(otx, "waiting", cast.party)
    assert guest_view.my_role == "guest"
    assert guest_view.my_invite == parties.MyInvite("waitlisted", 0)
    assert guest_view.invite_status == "waitlisted"
    assert parties.detail(otx, "declined", cast.party).my_role == "guest"


def test_a_stranger_is_told_the_party_does_not_exist_as_for_one_that_does_not(
    otx: OutboxTx,
) -> None:
    cast = Cast(otx)
    with pytest.raises(PartyNotFound):
        parties.detail(otx, "stranger", cast.party)
    with pytest.raises(PartyNotFound):
        parties.detail(otx, "stranger", cast.party + 1000)


def test_a_summary_of_another_user_carries_no_email_or_phone(otx: OutboxTx) -> None:
    cast = Cast(otx)
    otx.execute("UPDATE users SET phone = '+4915112345678' WHERE id = :id", id=cast.cohost)
    [cohost] = parties.detail(otx, "host", cast.party).cohosts
    assert set(vars(cohost)) == {"id", "handle", "display_name", "photo"}
    assert users.summary_of(otx, cast.cohost) == cohost


# -- update-party and cancel-party ------------------------------------------------------------


def test_moving_the_party_tells_everyone_but_the_declined_and_whoever_moved_it(
    otx: OutboxTx,
) -> None:
    cast = Cast(otx)
    new_time = in_hours(72).replace(microsecond=0)

    moved = changes.update(otx, "cohost", cast.party, {"first_entry": new_time, "title": "T"})

    assert (moved.first_entry, moved.title) == (new_time, "T")
    [event] = events(otx, "party-updated")
    assert event["recipients"] == sorted([cast.host, cast.invited, cast.confirmed, cast.waiting])
    assert event["changed"] == ["first_entry"]
    assert event["previous_flat"] == "FLAT1"
    assert (
        otx.scalar(
            "SELECT count(*) FROM invites WHERE party_id = :p AND party_first_entry = :t",
            p=cast.party,
            t=new_time,
        )
        == 4
    ), "the invites' copy of the time follows the party"


def test_a_change_nobody_needs_to_hear_of_raises_the_calendar_revision_only(
    otx: OutboxTx,
) -> None:
    cast = Cast(otx)
    changes.update(otx, "host", cast.party, {"description": "Bring snacks"})
    changes.update(otx, "host", cast.party, {"description": "Bring snacks"})  # no change
    assert events(otx, "party-updated") == []
    assert otx.scalar("SELECT revision FROM parties WHERE id = :p", p=cast.party) == 1


@pytest.mark.parametrize(("who", "error"), [("confirmed", NotHost), ("stranger", PartyNotFound)])
def test_only_the_hosts_change_a_party(otx: OutboxTx, who: str, error: type[Exception]) -> None:
    cast = Cast(otx)
    with pytest.raises(error):
        changes.update(otx, who, cast.party, {"flat": "MINE"})
    assert otx.scalar("SELECT flat FROM parties WHERE id = :p", p=cast.party) == "FLAT1"


def test_a_party_cannot_be_moved_into_the_past(otx: OutboxTx) -> None:
    cast = Cast(otx)
    with pytest.raises(FirstEntryPassed):
        changes.update(otx, "host", cast.party, {"first_entry": in_hours(-1)})


def test_a_party_that_is_over_or_cancelled_cannot_be_changed(otx: OutboxTx) -> None:
    host = add_user(otx, "host")
    over = add_party(otx, host, in_hours(-13))
    cancelled = add_party(otx, host, in_hours(5), cancelled=True)
    with pytest.raises(PartyOver):
        changes.update(otx, "host", over, {"flat": "X"})
    with pytest.raises(PartyCancelled):
        changes.update(otx, "host", cancelled, {"flat": "X"})


def test_cancelling_tells_everyone_concerned_once_and_again_changes_nothing(
    otx: OutboxTx,
) -> None:
    cast = Cast(otx)
    first = changes.cancel(otx, "host", cast.party)
    again = changes.cancel(otx, "host", cast.party)
    assert first.cancelled_at is not None
    assert again.cancelled_at == first.cancelled_at
    [event] = events(otx, "party-cancelled")
    assert event["recipients"] == sorted([cast.cohost, cast.invited, cast.confirmed, cast.waiting])
    assert event["host_display_name"] == "Hana"
    assert (event["host_id"], event["host_auth_uid"]) == (cast.host, "host")


@pytest.mark.parametrize("who", ["cohost", "confirmed"])
def test_only_the_host_cancels(otx: OutboxTx, who: str) -> None:
    cast = Cast(otx)
    with pytest.raises(NotHost):
        changes.cancel(otx, who, cast.party)


# -- co-hosts ---------------------------------------------------------------------------------


def test_the_host_adds_a_co_host_who_is_told_and_then_hosts_the_party(otx: OutboxTx) -> None:
    cast = Cast(otx)
    added = cohosts.add(otx, "host", cast.party, cast.stranger)
    assert added.user.id == cast.stranger
    [event] = events(otx, "cohost-added")
    assert event["recipients"] == [cast.stranger]
    assert (event["host_id"], event["host_auth_uid"], event["host_display_name"]) == (
        cast.host,
        "host",
        "Hana",
    )
    assert parties.detail(otx, "stranger", cast.party).my_role == "cohost"
    assert users.me(otx, "stranger").is_host
    with pytest.raises(AlreadyCohost):
        cohosts.add(otx, "host", cast.party, cast.stranger)


def test_co_hosts_are_managed_by_the_host_alone(otx: OutboxTx) -> None:
    cast = Cast(otx)
    with pytest.raises(NotHost):
        cohosts.add(otx, "cohost", cast.party, cast.stranger)
    with pytest.raises(PartyNotFound):
        cohosts.add(otx, "stranger", cast.party, cast.stranger)
    with pytest.raises(SelfCohost):
        cohosts.add(otx, "host", cast.party, cast.host)
    with pytest.raises(UserNotFound):
        cohosts.add(otx, "host", cast.party, 999_999)


def test_a_removed_co_host_is_nobody_to_the_party_again(otx: OutboxTx) -> None:
    cast = Cast(otx)
    cohosts.remove(otx, "host", cast.party, cast.cohost)
    with pytest.raises(PartyNotFound):
        parties.detail(otx, "cohost", cast.party)
    with pytest.raises(CohostNotFound):
        cohosts.remove(otx, "host", cast.party, cast.cohost)


# -- list-guests and remove-guest ---------------------------------------------------------------


def test_hosts_see_every_guest_grouped_by_status_in_order_of_answering(otx: OutboxTx) -> None:
    cast = Cast(otx)
    page = guests.list_for(otx, "cohost", cast.party, None, limit=10, cursor=None)
    assert [(g.user.id, g.status) for g in page.guests] == [
        (cast.confirmed, "confirmed"),
        (cast.declined, "declined"),
        (cast.invited, "invited"),
        (cast.waiting, "waitlisted"),
    ]


def test_the_guest_list_pages_through_with_its_cursor(otx: OutboxTx) -> None:
    cast = Cast(otx)
    for n in range(5):
        add_invite(otx, cast.party, add_user(otx, f"more-{n}"), "waitlisted")
    for status in (None, "waitlisted"):
        seen, cursor = [], None
        while True:
            page = guests.list_for(otx, "host", cast.party, status, limit=2, cursor=cursor)
            seen += [g.user.id for g in page.guests]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = guests.list_for(otx, "host", cast.party, status, limit=100, cursor=None)
        assert seen == [g.user.id for g in expected.guests]
        assert len(seen) == (9 if status is None else 6)


def test_guests_see_the_confirmed_only_and_only_when_the_host_shows_them(otx: OutboxTx) -> None:
    cast = Cast(otx)
    with pytest.raises(GuestListHidden):
        guests.list_for(otx, "invited", cast.party, None, limit=10, cursor=None)
    changes.update(otx, "host", cast.party, {"guest_list_visible": True})
    page = guests.list_for(otx, "declined", cast.party, None, limit=10, cursor=None)
    assert [g.user.id for g in page.guests] == [cast.confirmed]
    with pytest.raises(GuestListHidden):
        guests.list_for(otx, "invited", cast.party, "waitlisted", limit=10, cursor=None)
    with pytest.raises(PartyNotFound):
        guests.list_for(otx, "stranger", cast.party, None, limit=10, cursor=None)


def test_removing_someone_who_is_not_a_guest_is_not_found(otx: OutboxTx) -> None:
    cast = Cast(otx)
    with pytest.raises(GuestNotFound):
        changes.remove_guest(otx, "host", cast.party, cast.stranger)
    with pytest.raises(NotHost):
        changes.remove_guest(otx, "confirmed", cast.party, cast.invited)


# -- who is told what first ---------------------------------------------------------------------

# Each call that reads the caller and their role before the party's lock, on a party.
CALLS: dict[str, Callable[[OutboxTx, str, int], object]] = {
    "update-party": lambda tx, uid, party: changes.update(tx, uid, party, {"flat": "X"}),
    "cancel-party": lambda tx, uid, party: changes.cancel(tx, uid, party),
    "remove-guest": lambda tx, uid, party: changes.remove_guest(tx, uid, party, 999_999),
    "add-cohost": lambda tx, uid, party: cohosts.add(tx, uid, party, 999_999),
    "remove-cohost": lambda tx, uid, party: cohosts.remove(tx, uid, party, 999_999),
    "list-guests": lambda tx, uid, party: guests.list_for(
        tx, uid, party, "invited", limit=10, cursor=None
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_signing_up_is_asked_for_first_then_the_role_then_the_rest(
    otx: OutboxTx, call: str
) -> None:
    cast = Cast(otx)
    over = add_party(otx, cast.host, in_hours(-13), flat="OVER")
    add_invite(otx, over, cast.confirmed, "confirmed")
    for party in (cast.party, over, cast.party + 1000):
        with pytest.raises(SignupRequired):
            CALLS[call](otx, "never-signed-up", party)
    for party in (over, cast.party + 1000):
        with pytest.raises(PartyNotFound):
            CALLS[call](otx, "stranger", party)
    # A guest of a party that is over is refused for their role before it is found over.
    with pytest.raises(GuestListHidden if call == "list-guests" else NotHost):
        CALLS[call](otx, "confirmed", over)


# -- reminders ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_db")
def test_confirmed_guests_are_reminded_once_of_a_party_starting_within_a_day() -> None:
    with db.transaction() as tx:
        soon = Cast(tx, first_entry_hours=5)
        later = add_party(tx, soon.host, in_hours(30))
        add_invite(tx, later, soon.invited, "confirmed")

    first, second = reminders.run(), reminders.run()

    assert (first.parties, first.reminded) == (1, 1)
    assert (second.parties, second.reminded) == (0, 0)
    with db.transaction() as tx:
        [event] = events(tx, "party-reminder")
    assert event["recipients"] == [soon.confirmed]
    assert event["party_id"] == soon.party


@pytest.mark.usefixtures("clean_db")
def test_two_runs_at_once_send_each_reminder_once() -> None:
    with db.transaction() as tx:
        host = add_user(tx, "host")
        for n in range(6):
            party = add_party(tx, host, in_hours(1 + n))
            for g in range(5):
                add_invite(tx, party, add_user(tx, f"guest-{n}-{g}"), "confirmed")
    start = threading.Barrier(2)

    def run(_: int) -> int:
        start.wait()
        return reminders.run().reminded

    with ThreadPoolExecutor(2) as pool:
        sent = list(pool.map(run, range(2)))

    assert sum(sent) == 30
    with db.transaction() as tx:
        assert (
            tx.scalar(
                "SELECT count(*) FROM notification_recipients r"
                " JOIN outbox o ON o.event_id = r.event_id WHERE o.type = 'party-reminder'"
            )
            == 30
        )


@pytest.mark.usefixtures("clean_db")
def test_moving_a_party_reminds_its_guests_again_of_the_new_time() -> None:
    with db.transaction() as tx:
        cast = Cast(tx, first_entry_hours=5)
    assert reminders.run().reminded == 1
    with outbox.transaction() as tx:
        changes.update(tx, "host", cast.party, {"first_entry": in_hours(6)})
    assert reminders.run().reminded == 1


# -- calendar -----------------------------------------------------------------------------------


def test_a_calendar_link_holds_a_secret_of_which_only_the_hash_is_kept(otx: OutboxTx) -> None:
    cast = Cast(otx)
    url = calendar.new_link(otx, "confirmed")
    token = url.split("token=")[1]
    assert len(token) >= 43, "256 bits, base64"
    stored = bytes(otx.scalar("SELECT token_hash FROM calendar_feeds"))
    assert token.encode() not in stored
    assert calendar.owner_of(otx, token) == cast.confirmed


def test_a_new_calendar_link_stops_the_previous_one(otx: OutboxTx) -> None:
    Cast(otx)
    old = calendar.new_link(otx, "confirmed").split("token=")[1]
    new = calendar.new_link(otx, "confirmed").split("token=")[1]
    assert old != new
    with pytest.raises(CalendarNotFound):
        calendar.owner_of(otx, old)
    calendar.owner_of(otx, new)


def test_the_feed_holds_confirmed_and_hosted_upcoming_parties_cancelled_ones_included(
    otx: OutboxTx,
) -> None:
    cast = Cast(otx)
    past = add_party(otx, cast.host, in_hours(-13))
    add_invite(otx, past, cast.confirmed, "confirmed")
    cancelled = add_party(otx, cast.cohost, in_hours(10), flat="GONE", cancelled=True)
    add_invite(otx, cancelled, cast.confirmed, "confirmed")

    feed = calendar.entries(otx, cast.confirmed)
    assert [(e.party_id, e.cancelled) for e in feed] == [(cancelled, True), (cast.party, False)]
    assert calendar.entries(otx, cast.waiting) == [], "waiting is not going"
    assert [e.role for e in calendar.entries(otx, cast.cohost)] == ["host", "cohost"]


def test_time_arithmetic_of_the_feed_is_utc(otx: OutboxTx) -> None:
    cast = Cast(otx)
    [entry] = calendar.entries(otx, cast.host)
    assert entry.last_entry - entry.first_entry == timedelta(hours=12)
