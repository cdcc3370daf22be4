"""delete-account's one transaction against PostgreSQL: what happens to the person's parties,
invites and events, and to everyone they leave behind (realm.accounts.deletion.delete)."""

from __future__ import annotations

import json
import uuid

import pytest

from realm.accounts import deletion
from realm.db import Tx, quotas
from realm.errors import SignupRequired
from realm.events import inbound, notify, outbox
from realm.events.outbox import OutboxTx
from realm.hosting import changes, cohosts, invites
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours
from tests.integration.test_hosting import events


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


def status_of(tx: Tx, party: int, guest: int) -> str | None:
    return tx.scalar(  # type: ignore[no-any-return]
        "SELECT status FROM invites WHERE party_id = :p AND guest_id = :g", p=party, g=guest
    )


def test_someone_who_never_signed_up_is_told_to_sign_up(otx: OutboxTx) -> None:
    with pytest.raises(SignupRequired):
        deletion.delete(otx, "nobody-here")


def test_a_leaving_hosts_upcoming_parties_are_cancelled_and_everyone_concerned_is_told(
    otx: OutboxTx,
) -> None:
    host = add_user(otx, "leaving-host", "Ysolde Quarrington")
    party = add_party(otx, host, in_hours(30), flat="ROOFTOP")
    coming, unsure, declined, waiting, cohost = (add_user(otx, f"g-{n}") for n in range(5))
    add_invite(otx, party, coming, "confirmed")
    add_invite(otx, party, unsure)
    add_invite(otx, party, declined, "declined")
    add_invite(otx, party, waiting, "waitlisted")
    add_cohost(otx, party, cohost)

    deleted = deletion.delete(otx, "leaving-host")

    assert deleted.parties_cancelled == 1
    [cancelled] = events(otx, "party-cancelled")
    assert cancelled.pop("recipients") == sorted([coming, unsure, waiting, cohost])
    assert cancelled["reason"] == "host-left"
    told = inbound.InboundEvent(
        event_id=uuid.uuid4(), type="party-cancelled", occurred_at=in_hours(0), data=cancelled
    )
    assert notify.fanout_notification(told).body == "ROOFTOP is cancelled: its host left Realm."
    assert "Ysolde" not in json.dumps(cancelled)
    assert otx.scalar("SELECT count(*) FROM parties WHERE host_id = :h", h=host) == 0


def test_a_leaving_guests_seat_goes_to_the_first_one_waiting(otx: OutboxTx) -> None:
    host = add_user(otx, "host")
    party = add_party(otx, host, in_hours(30), capacity=3, max_plus_ones=2)
    leaving, seated, first, second = (
        add_user(otx, u) for u in ["leaving", "seated", "waiting-1", "waiting-2"]
    )
    add_invite(otx, party, leaving, "confirmed", plus_ones=1)
    add_invite(otx, party, seated, "confirmed")
    add_invite(otx, party, first, "waitlisted", plus_ones=1)
    add_invite(otx, party, second, "waitlisted")

    deleted = deletion.delete(otx, "leaving")

    assert deleted.invites_removed == 1
    assert status_of(otx, party, leaving) is None
    assert (status_of(otx, party, first), status_of(otx, party, second)) == (
        "confirmed",
        "waitlisted",
    ), "two heads freed: the first one waiting (two heads) goes in, the next still waits"
    [promoted] = events(otx, "waitlist-promoted")
    assert promoted["recipients"] == [first]


def test_past_and_cancelled_parties_change_nothing_for_anyone_but_go_with_their_host(
    otx: OutboxTx,
) -> None:
    host = add_user(otx, "old-host")
    past = add_party(otx, host, in_hours(-48))
    called_off = add_party(otx, host, in_hours(48), cancelled=True)
    guest = add_user(otx, "their-guest")
    add_invite(otx, past, guest, "confirmed")
    add_invite(otx, called_off, guest, "confirmed")
    other_host = add_user(otx, "other-host")
    elsewhere = add_party(otx, other_host, in_hours(-48), capacity=1)
    add_invite(otx, elsewhere, host, "confirmed")
    add_invite(otx, elsewhere, guest, "waitlisted")

    deleted = deletion.delete(otx, "old-host")

    assert (deleted.parties_cancelled, deleted.invites_removed) == (0, 1)
    assert events(otx, "party-cancelled") == events(otx, "waitlist-promoted") == []
    assert otx.scalar("SELECT count(*) FROM invites WHERE guest_id = :g", g=guest) == 1
    assert status_of(otx, elsewhere, guest) == "waitlisted", "a party that is over is over"


def test_what_the_person_made_and_what_others_made_about_them_goes(otx: OutboxTx) -> None:
    me, friend, host = (add_user(otx, u) for u in ["leaving-me", "friend", "a-host"])
    theirs = add_party(otx, host, in_hours(30))
    add_cohost(otx, theirs, me)
    otx.execute(
        "INSERT INTO invite_links (party_id, created_by, token_hash)"
        " VALUES (:p, :me, sha256('t'::bytea)), (:p, :host, sha256('u'::bytea))",
        p=theirs,
        me=me,
        host=host,
    )
    otx.execute(
        "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:me, :f), (:f, :me), (:f, :h)",
        me=me,
        f=friend,
        h=host,
    )
    otx.execute("INSERT INTO calendar_feeds VALUES (:me, sha256('c'::bytea))", me=me)
    otx.execute(
        "INSERT INTO devices (user_id, token, platform) VALUES (:me, 'phone', 'ios')", me=me
    )
    otx.execute(
        "INSERT INTO idempotency_keys (subject, key, fingerprint) VALUES (:s, 'k', 'f')",
        s=quotas.subject_for("leaving-me"),
    )
    quotas.spend(otx, "leaving-me", "parties")

    deletion.delete(otx, "leaving-me")

    assert otx.scalar("SELECT count(*) FROM party_hosts WHERE party_id = :p", p=theirs) == 1
    assert otx.scalar("SELECT count(*) FROM invite_links") == 1, "the host's link stays"
    assert otx.all("SELECT blocker_id, blocked_id FROM blocks") == [
        {"blocker_id": friend, "blocked_id": host}
    ]
    for table in ["calendar_feeds", "devices", "idempotency_keys"]:
        assert otx.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert otx.scalar("SELECT count(*) FROM user_search_terms WHERE user_id = :me", me=me) == 0
    assert otx.scalar("SELECT count(*) FROM users WHERE auth_uid = 'leaving-me'") == 0
    # A quota outlives the account, under a hash of the uid: leaving does not reset it.
    spent = otx.scalar(
        "SELECT count(*) FROM quota_spends WHERE subject = :s", s=quotas.subject_for("leaving-me")
    )
    assert spent == 1


def test_events_naming_the_person_go_and_their_mentions_in_others_feeds_are_noted(
    otx: OutboxTx,
) -> None:
    me = add_user(otx, "leaving-me", "Ysolde Quarrington")
    guest, other, host = (add_user(otx, u) for u in ["guest", "other", "host"])
    mine = add_party(otx, me, in_hours(-30))
    add_invite(otx, mine, guest)
    invites.announce(
        otx,
        invites.of(otx, mine, guest),
        {"flat": "F", "title": None, "first_entry": in_hours(-30)},
        guest_uid="guest",
        inviter_id=me,
        inviter_uid="leaving-me",
        inviter_name="Ysolde Quarrington",
    )
    theirs = add_party(otx, host, in_hours(30), capacity=1)
    add_invite(otx, theirs, me, "confirmed")
    add_invite(otx, theirs, other, "confirmed")
    # A promotion that named both of us (the row is what matters here, not how it came).
    promoted = outbox.add(otx, "waitlist-promoted", {"party_id": theirs, "guest_ids": [me, other]})
    cohosts.add(otx, "host", theirs, other)  # names the host, not me: stays

    deleted = deletion.delete(otx, "leaving-me")

    assert events(otx, "invite-created") == []
    [kept] = [e for e in events(otx, "waitlist-promoted") if e["party_id"] == theirs]
    assert kept["guest_ids"] == [other]
    assert otx.scalar("SELECT user_ids FROM outbox WHERE event_id = :e", e=promoted.event_id) == [
        other
    ]
    assert len(events(otx, "cohost-added")) == 1
    mentions = otx.all(
        "SELECT auth_uid FROM account_erasure_mentions WHERE erasure_id = :e",
        e=deleted.erasure_id,
    )
    assert mentions == [{"auth_uid": "guest"}], "the guest was told 'Ysolde invited you'"
    naming_me = "SELECT count(*) FROM outbox WHERE user_ids @> ARRAY[CAST(:me AS bigint)]"
    assert otx.scalar(naming_me, me=me) == 0


def test_the_erasure_event_carries_nothing_but_the_erasures_id(otx: OutboxTx) -> None:
    add_user(otx, "leaving")

    deleted = deletion.delete(otx, "leaving")

    assert events(otx, "account-deleted") == [{"erasure_id": deleted.erasure_id, "recipients": []}]
    erasure = otx.one(
        "SELECT subject, auth_uid FROM account_erasures WHERE id = :e", e=deleted.erasure_id
    )
    assert erasure == {"subject": quotas.subject_for("leaving"), "auth_uid": "leaving"}


def test_cancel_party_still_names_its_host_by_id_for_a_later_deletion(otx: OutboxTx) -> None:
    host = add_user(otx, "host", "Ysolde Quarrington")
    party = add_party(otx, host, in_hours(30))

    changes.cancel(otx, "host", party)

    [cancelled] = events(otx, "party-cancelled")
    assert cancelled["host_id"] == host
    assert cancelled["host_display_name"] == "Ysolde Quarrington"
    assert otx.scalar("SELECT user_ids FROM outbox WHERE type = 'party-cancelled'") == [host]
