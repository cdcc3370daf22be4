from datetime import timedelta

import pytest

from realm.db import Tx
from realm.errors import InvalidCursor, RuleViolation, SignupRequired
from realm.hosting import parties
from tests.helpers import add_invite, add_party, add_user, in_hours, now


def test_a_created_party_closes_entry_twelve_hours_after_it_opens(tx: Tx) -> None:
    add_user(tx, "uid-h", name="Hana")
    start = in_hours(48)
    party = parties.create(
        tx,
        "uid-h",
        flat="FUTUREPARTY1",
        first_entry=start,
        title="Warm-up",
        description=None,
        capacity=30,
    )
    assert party.last_entry == party.first_entry + timedelta(hours=12)
    assert party.host.display_name == "Hana"
    assert (party.flat, party.title, party.capacity) == ("FUTUREPARTY1", "Warm-up", 30)


def test_the_database_itself_keeps_last_entry_twelve_hours_after_first_entry(tx: Tx) -> None:
    host = add_user(tx)
    party_id = add_party(tx, host, in_hours(5))
    tx.execute(
        "UPDATE parties SET first_entry = first_entry + interval '1 day' WHERE id = :id",
        id=party_id,
    )
    assert tx.scalar(
        "SELECT last_entry - first_entry FROM parties WHERE id = :id", id=party_id
    ) == timedelta(hours=12)


def test_a_party_that_is_already_over_cannot_be_created(tx: Tx) -> None:
    add_user(tx, "uid-h")
    with pytest.raises(RuleViolation) as error:
        parties.create(
            tx,
            "uid-h",
            flat="F",
            first_entry=in_hours(-13),
            title=None,
            description=None,
            capacity=None,
        )
    assert error.value.code == "party_over"


def test_a_party_already_in_progress_can_be_created(tx: Tx) -> None:
    add_user(tx, "uid-h")
    party = parties.create(
        tx, "uid-h", flat="F", first_entry=in_hours(-2), title=None, description=None, capacity=None
    )
    assert party.id > 0


def test_only_signed_up_users_can_host(tx: Tx) -> None:
    with pytest.raises(SignupRequired):
        parties.create(
            tx,
            "nobody",
            flat="F",
            first_entry=in_hours(5),
            title=None,
            description=None,
            capacity=None,
        )


def _flats(page: parties.Page) -> list[str]:
    return [party.flat for party in page.parties]


def test_the_invited_view_lists_upcoming_unanswered_invites_soonest_first(tx: Tx) -> None:
    host, guest = add_user(tx), add_user(tx, "uid-g")
    for flat, hours in [("LATER", 72), ("SOON", 24), ("PAST", -48), ("NOW", -6)]:
        add_invite(tx, add_party(tx, host, in_hours(hours), flat=flat), guest)
    add_invite(tx, add_party(tx, host, in_hours(30), flat="CONFIRMED"), guest, "confirmed")
    add_invite(tx, add_party(tx, host, in_hours(31), flat="DECLINED"), guest, "declined")
    add_invite(tx, add_party(tx, host, in_hours(32), flat="CANCELLED", cancelled=True), guest)

    page = parties.list_for(tx, "uid-g", "invited", limit=20, cursor=None)
    assert _flats(page) == ["NOW", "SOON", "LATER"]
    assert {party.invite_status for party in page.parties} == {"invited"}
    assert page.next_cursor is None


def test_the_confirmed_view_lists_only_accepted_upcoming_invites(tx: Tx) -> None:
    host, guest = add_user(tx), add_user(tx, "uid-g")
    add_invite(tx, add_party(tx, host, in_hours(24), flat="YES"), guest, "confirmed")
    add_invite(tx, add_party(tx, host, in_hours(-30), flat="YES-BUT-OVER"), guest, "confirmed")
    add_invite(tx, add_party(tx, host, in_hours(25), flat="NO"), guest, "declined")
    add_invite(tx, add_party(tx, host, in_hours(26), flat="MAYBE"), guest)
    assert _flats(parties.list_for(tx, "uid-g", "confirmed", limit=20, cursor=None)) == ["YES"]


def test_the_hosting_view_lists_the_callers_own_upcoming_parties(tx: Tx) -> None:
    host, other = add_user(tx, "uid-h"), add_user(tx)
    add_party(tx, host, in_hours(10), flat="MINE")
    add_party(tx, host, in_hours(-20), flat="MINE-OVER")
    add_party(tx, host, in_hours(11), flat="MINE-CANCELLED", cancelled=True)
    add_party(tx, other, in_hours(12), flat="THEIRS")
    page = parties.list_for(tx, "uid-h", "hosting", limit=20, cursor=None)
    assert _flats(page) == ["MINE"]
    assert page.parties[0].invite_status is None


def test_a_guest_only_ever_sees_their_own_invites(tx: Tx) -> None:
    host, guest, other = add_user(tx), add_user(tx, "uid-g"), add_user(tx, "uid-o")
    add_invite(tx, add_party(tx, host, in_hours(24), flat="FOR-OTHER"), other)
    assert _flats(parties.list_for(tx, "uid-g", "invited", limit=20, cursor=None)) == []
    assert guest > 0


def test_pages_walk_every_party_once_even_when_start_times_are_shared(tx: Tx) -> None:
    host, guest = add_user(tx), add_user(tx, "uid-g")
    same_time = now() + timedelta(days=1)
    expected = []
    for n in range(7):
        party = add_party(tx, host, same_time if n < 5 else same_time + timedelta(hours=n))
        add_invite(tx, party, guest)
        expected.append(party)

    seen, cursor, pages = [], None, 0
    while True:
        page = parties.list_for(tx, "uid-g", "invited", limit=2, cursor=cursor)
        seen += [party.id for party in page.parties]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages == 4


def test_a_full_last_page_has_no_next_cursor(tx: Tx) -> None:
    host = add_user(tx, "uid-h")
    for hours in (1, 2):
        add_party(tx, host, in_hours(hours))
    assert parties.list_for(tx, "uid-h", "hosting", limit=2, cursor=None).next_cursor is None


def test_a_forged_cursor_is_refused(tx: Tx) -> None:
    add_user(tx, "uid-h")
    with pytest.raises(InvalidCursor):
        parties.list_for(tx, "uid-h", "hosting", limit=2, cursor="Zm9yZ2Vk")


def test_listing_needs_a_signed_up_caller(tx: Tx) -> None:
    with pytest.raises(SignupRequired):
        parties.list_for(tx, "nobody", "invited", limit=20, cursor=None)
