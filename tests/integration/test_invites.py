import json

import pytest

from realm.db import Tx
from realm.errors import Conflict, Forbidden, NotFound, RuleViolation
from realm.events.outbox import OutboxTx
from realm.hosting import invites
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


def _events(tx: Tx) -> list[dict[str, object]]:
    return [
        json.loads(row["message"]) if isinstance(row["message"], str) else row["message"]
        for row in tx.all("SELECT message FROM outbox ORDER BY id")
    ]


def test_a_host_invites_a_guest_and_the_event_is_written_with_it(otx: OutboxTx) -> None:
    host, guest = add_user(otx, "uid-h", "Hana"), add_user(otx, "uid-g")
    party = add_party(otx, host, in_hours(24), flat="FLAT7")
    invite = invites.create(otx, "uid-h", party_id=party, guest_id=guest)
    assert (invite.party_id, invite.guest_id, invite.status) == (party, guest, "invited")
    [event] = _events(otx)
    assert event["type"] == "invite-created"
    assert event["data"]["invite_id"] == invite.id  # type: ignore[index]
    assert event["data"]["guest_auth_uid"] == "uid-g"  # type: ignore[index]
    assert event["data"]["host_display_name"] == "Hana"  # type: ignore[index]


def test_a_stranger_cannot_invite_and_is_told_the_party_does_not_exist(otx: OutboxTx) -> None:
    host, guest = add_user(otx), add_user(otx)
    add_user(otx, "uid-x")
    party = add_party(otx, host, in_hours(24))
    with pytest.raises(NotFound) as error:
        invites.create(otx, "uid-x", party_id=party, guest_id=guest)
    assert error.value.code == "party_not_found"


def test_a_guest_of_the_party_cannot_invite(otx: OutboxTx) -> None:
    host, guest, friend = add_user(otx), add_user(otx, "uid-g"), add_user(otx)
    party = add_party(otx, host, in_hours(24))
    add_invite(otx, party, guest)
    with pytest.raises(Forbidden) as error:
        invites.create(otx, "uid-g", party_id=party, guest_id=friend)
    assert error.value.code == "not_host"


def test_a_cohost_invites_like_the_host(otx: OutboxTx) -> None:
    host, cohost, guest = add_user(otx), add_user(otx, "uid-c", "Cora"), add_user(otx)
    party = add_party(otx, host, in_hours(24))
    add_cohost(otx, party, cohost)
    invite = invites.create(otx, "uid-c", party_id=party, guest_id=guest)
    assert (invite.party_id, invite.guest_id, invite.status) == (party, guest, "invited")
    with pytest.raises(RuleViolation) as error:
        invites.create(otx, "uid-c", party_id=party, guest_id=host)
    assert error.value.code == "self_invite"


def test_a_cohost_cannot_be_invited_to_the_party_they_cohost(otx: OutboxTx) -> None:
    host, cohost, other = add_user(otx, "uid-h"), add_user(otx), add_user(otx, "uid-o")
    party = add_party(otx, host, in_hours(24))
    add_cohost(otx, party, cohost)
    add_cohost(otx, party, other)
    for inviter in ("uid-h", "uid-o"):
        with pytest.raises(RuleViolation) as error:
            invites.create(otx, inviter, party_id=party, guest_id=cohost)
        assert error.value.code == "self_invite"
    assert otx.scalar("SELECT count(*) FROM invites WHERE guest_id = :g", g=cohost) == 0


def test_inviting_to_an_unknown_party_or_an_unknown_guest_is_not_found(otx: OutboxTx) -> None:
    host = add_user(otx, "uid-h")
    party = add_party(otx, host, in_hours(24))
    with pytest.raises(NotFound, match="party"):
        invites.create(otx, "uid-h", party_id=999_999, guest_id=host)
    with pytest.raises(NotFound, match="guest"):
        invites.create(otx, "uid-h", party_id=party, guest_id=999_999)


def test_a_host_cannot_invite_themselves(otx: OutboxTx) -> None:
    host = add_user(otx, "uid-h")
    party = add_party(otx, host, in_hours(24))
    with pytest.raises(RuleViolation) as error:
        invites.create(otx, "uid-h", party_id=party, guest_id=host)
    assert error.value.code == "self_invite"


def test_nobody_can_be_invited_to_a_party_that_is_over(otx: OutboxTx) -> None:
    host, guest = add_user(otx, "uid-h"), add_user(otx)
    party = add_party(otx, host, in_hours(-13))
    with pytest.raises(RuleViolation) as error:
        invites.create(otx, "uid-h", party_id=party, guest_id=guest)
    assert error.value.code == "party_over"


def test_inviting_the_same_guest_twice_is_a_conflict(otx: OutboxTx) -> None:
    host, guest = add_user(otx, "uid-h"), add_user(otx)
    party = add_party(otx, host, in_hours(24))
    invites.create(otx, "uid-h", party_id=party, guest_id=guest)
    with pytest.raises(Conflict):
        invites.create(otx, "uid-h", party_id=party, guest_id=guest)
    assert len(_events(otx)) == 1


def test_the_guest_confirms_and_the_host_gets_an_event(otx: OutboxTx) -> None:
    host, guest = add_user(otx, "uid-h"), add_user(otx, "uid-g", "Gus")
    party = add_party(otx, host, in_hours(24))
    add_invite(otx, party, guest)
    invite = invites.respond(otx, "uid-g", party_id=party, response="confirmed")
    assert invite.status == "confirmed"
    assert invite.responded_at is not None
    [event] = _events(otx)
    assert event["type"] == "invite-responded"
    assert event["data"]["host_auth_uid"] == "uid-h"  # type: ignore[index]
    assert event["data"]["response"] == "confirmed"  # type: ignore[index]


def test_repeating_the_same_answer_changes_nothing_and_tells_nobody(otx: OutboxTx) -> None:
    host, guest = add_user(otx), add_user(otx, "uid-g")
    party = add_party(otx, host, in_hours(24))
    add_invite(otx, party, guest)
    first = invites.respond(otx, "uid-g", party_id=party, response="declined")
    again = invites.respond(otx, "uid-g", party_id=party, response="declined")
    assert again.responded_at == first.responded_at
    assert len(_events(otx)) == 1


def test_only_the_invited_guest_can_respond(otx: OutboxTx) -> None:
    host, guest = add_user(otx), add_user(otx)
    add_user(otx, "uid-x")
    party = add_party(otx, host, in_hours(24))
    add_invite(otx, party, guest)
    with pytest.raises(NotFound):
        invites.respond(otx, "uid-x", party_id=party, response="confirmed")


def test_nobody_can_respond_once_the_party_is_over(otx: OutboxTx) -> None:
    host, guest = add_user(otx), add_user(otx, "uid-g")
    party = add_party(otx, host, in_hours(-13))
    add_invite(otx, party, guest)
    with pytest.raises(RuleViolation):
        invites.respond(otx, "uid-g", party_id=party, response="confirmed")
