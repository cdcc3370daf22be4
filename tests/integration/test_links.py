"""Invite links against PostgreSQL: making them, joining by them, and every way one stops
working."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from realm import db, errors
from realm.config import settings
from realm.db import Tx
from realm.events import inbound, notify
from realm.events.outbox import OutboxTx
from realm.people import links
from tests.helpers import add_invite, add_party, add_user, in_hours, uid
from tests.integration.interleave import while_held


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


@pytest.fixture
def party(otx: OutboxTx) -> int:
    host = add_user(otx, "uid-host", "Hana Host")
    add_user(otx, "uid-guest", "Gus Guest")
    return add_party(otx, host, in_hours(24), flat="FLAT9")


def new_link(tx: Tx, party: int, **options: Any) -> links.NewLink:
    options = {"expires_at": None, "max_uses": None, **options}
    return links.create(tx, "uid-host", party_id=party, **options)


class TestCreating:
    def test_a_link_has_a_long_random_token_of_which_only_a_hash_is_kept(
        self, otx: OutboxTx, party: int
    ) -> None:
        link = new_link(otx, party, max_uses=3)

        assert len(link.token) == 43, "32 random bytes, URL-safe base64"
        assert link.url == f"{settings.invite_link_base_url}/{link.token}"
        assert (link.uses, link.max_uses, link.expires_at) == (0, 3, None)
        [row] = otx.all("SELECT * FROM invite_links")
        assert bytes(row["token_hash"]) == hashlib.sha256(link.token.encode()).digest()
        stored = json.dumps(row, default=str)
        assert link.token not in stored

    def test_two_links_never_share_a_token(self, otx: OutboxTx, party: int) -> None:
        tokens = {new_link(otx, party).token for _ in range(20)}

        assert len(tokens) == 20

    def test_only_the_host_may_make_one(self, otx: OutboxTx, party: int) -> None:
        add_user(otx, "uid-stranger")
        add_invite(otx, party, otx.scalar("SELECT id FROM users WHERE auth_uid = 'uid-guest'"))

        with pytest.raises(errors.NotHost):
            links.create(otx, "uid-guest", party_id=party, expires_at=None, max_uses=None)
        with pytest.raises(errors.PartyNotFound):
            links.create(otx, "uid-stranger", party_id=party, expires_at=None, max_uses=None)

    def test_an_expiry_in_the_past_is_refused(self, otx: OutboxTx, party: int) -> None:
        with pytest.raises(errors.ExpiresInPast):
            new_link(otx, party, expires_at=datetime.now(UTC) - timedelta(minutes=1))

    @pytest.mark.parametrize(("hours", "cancelled"), [(-13, False), (24, True)])
    def test_no_link_to_a_party_that_is_over_or_cancelled(
        self, otx: OutboxTx, hours: int, cancelled: bool
    ) -> None:
        host = add_user(otx, "uid-host")
        party = add_party(otx, host, in_hours(hours), cancelled=cancelled)

        with pytest.raises(errors.RuleViolation):
            new_link(otx, party)


def _guest(tx: Tx, name: str = "guest") -> str:
    auth_uid = uid(name)
    add_user(tx, auth_uid, name.title())
    return auth_uid


class TestJoining:
    def test_joining_makes_an_invite_and_an_event_that_notifies_the_guest(
        self, otx: OutboxTx, party: int
    ) -> None:
        link = new_link(otx, party)

        joined = links.join(otx, "uid-guest", link.token)

        assert joined.created
        assert (joined.invite.party_id, joined.invite.status) == (party, "invited")
        [event] = otx.events
        # As published, and as notify-guest reads it.
        delivered = inbound.InboundEvent.model_validate(json.loads(json.dumps(event.message())))
        recipient, notification = notify.notification_for(delivered) or pytest.fail(
            "notify-guest has no rule for the event"
        )
        assert recipient == "uid-guest"
        assert notification.body == "Hana Host invited you to FLAT9."
        assert notification.invite_id == joined.invite.id
        assert otx.scalar("SELECT uses FROM invite_links") == 1

    def test_joining_again_answers_the_same_invite_unchanged_and_uses_nothing(
        self, otx: OutboxTx, party: int
    ) -> None:
        link = new_link(otx, party, max_uses=1)
        first = links.join(otx, "uid-guest", link.token)
        otx.execute("UPDATE invites SET status = 'declined'")

        again = links.join(otx, "uid-guest", link.token)

        assert not again.created
        assert (again.invite.id, again.invite.status) == (first.invite.id, "declined")
        assert len(otx.events) == 1
        assert otx.scalar("SELECT uses FROM invite_links") == 1

    def test_someone_invited_before_gets_their_invite_and_the_link_keeps_its_uses(
        self, otx: OutboxTx, party: int
    ) -> None:
        guest = otx.scalar("SELECT id FROM users WHERE auth_uid = 'uid-guest'")
        add_invite(otx, party, guest, status="confirmed")
        link = new_link(otx, party, max_uses=1)

        joined = links.join(otx, "uid-guest", link.token)

        assert (joined.created, joined.invite.status) == (False, "confirmed")
        assert links.join(otx, _guest(otx), link.token).created

    def test_the_host_cannot_join_their_own_party(self, otx: OutboxTx, party: int) -> None:
        link = new_link(otx, party)

        with pytest.raises(errors.SelfInvite):
            links.join(otx, "uid-host", link.token)

    @pytest.mark.parametrize(
        ("change", "error"),
        [
            ("cancelled_at = now()", errors.PartyCancelled),
            ("first_entry = now() - interval '13 hours'", errors.PartyOver),
        ],
    )
    def test_a_party_that_is_over_or_cancelled_cannot_be_joined(
        self, otx: OutboxTx, party: int, change: str, error: type[Exception]
    ) -> None:
        link = new_link(otx, party)
        otx.execute(f"UPDATE parties SET {change}")

        with pytest.raises(error):
            links.join(otx, "uid-guest", link.token)


class TestEveryBadTokenLooksTheSame:
    def _refusal(self, tx: Tx, token: str, who: str = "uid-guest") -> str:
        with pytest.raises(errors.LinkNotFound) as refused:
            links.join(OutboxTx(tx), who, token)
        return refused.value.message

    def test_unknown_expired_revoked_used_up_blocked_and_malformed_tokens(
        self, otx: OutboxTx, party: int
    ) -> None:
        expired = new_link(otx, party, expires_at=datetime.now(UTC) + timedelta(seconds=1))
        otx.execute("UPDATE invite_links SET expires_at = now() - interval '1 second'")
        revoked = new_link(otx, party)
        links.revoke(otx, "uid-host", revoked.link_id)
        used_up = new_link(otx, party, max_uses=1)
        links.join(otx, _guest(otx, "first"), used_up.token)
        working = new_link(otx, party)
        blocked = _guest(otx, "blocked")
        otx.execute(
            "INSERT INTO blocks SELECT h.id, b.id FROM users h, users b"
            " WHERE h.auth_uid = 'uid-host' AND b.auth_uid = :b",
            b=blocked,
        )

        messages = {
            self._refusal(otx, expired.token),
            self._refusal(otx, revoked.token),
            self._refusal(otx, used_up.token),
            self._refusal(otx, working.token, who=blocked),
            *(
                self._refusal(otx, token)
                for token in [
                    working.token[:-1],
                    working.token + "A",
                    working.token.upper(),
                    "",
                    " " * 43,
                    "../" * 20,
                    "\u0000" * 43,
                    "\ud800",
                    "é" * 43,
                    "x" * 10_000,
                ]
            ),
        }

        assert messages == {errors.LinkNotFound.default_message}
        assert otx.scalar("SELECT count(*) FROM invites") == 1, "only the first joiner's"


class TestRevoking:
    def test_revoking_again_changes_nothing(self, otx: OutboxTx, party: int) -> None:
        link = new_link(otx, party)

        first = links.revoke(otx, "uid-host", link.link_id)
        again = links.revoke(otx, "uid-host", link.link_id)

        assert first.revoked_at is not None
        assert again.revoked_at == first.revoked_at

    def test_a_guest_may_not_and_to_anyone_else_the_link_does_not_exist(
        self, otx: OutboxTx, party: int
    ) -> None:
        link = new_link(otx, party)
        links.join(otx, "uid-guest", link.token)
        add_user(otx, "uid-stranger")

        with pytest.raises(errors.NotHost):
            links.revoke(otx, "uid-guest", link.link_id)
        with pytest.raises(errors.LinkNotFound):
            links.revoke(otx, "uid-stranger", link.link_id)
        with pytest.raises(errors.LinkNotFound):
            links.revoke(otx, "uid-host", 999_999)


def test_a_one_use_link_joined_by_twenty_people_at_once_admits_exactly_one(
    clean_db: None,
) -> None:
    with db.transaction() as tx:
        host = add_user(tx, "uid-host")
        party = add_party(tx, host, in_hours(24))
        guests = [uid("joiner") for _ in range(20)]
        for guest in guests:
            add_user(tx, guest)
        link = links.create(tx, "uid-host", party_id=party, expires_at=None, max_uses=1)
    # A connection each, so that all twenty transactions are open at once.
    pool = db.Pool(db.connection_factory(), size=20)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def join(guest: str) -> None:
        with pool.connection() as conn:
            conn.execute_simple("BEGIN")
            start.wait()
            try:
                links.join(OutboxTx(db.Tx(conn)), guest, link.token)
                conn.execute_simple("COMMIT")
                outcomes.append("joined")
            except errors.LinkNotFound:
                conn.execute_simple("ROLLBACK")
                outcomes.append("link_not_found")

    threads = [threading.Thread(target=join, args=(guest,)) for guest in guests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()

    assert sorted(outcomes) == ["joined"] + ["link_not_found"] * 19
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM invites WHERE party_id = :p", p=party) == 1
        assert tx.scalar("SELECT uses FROM invite_links") == 1
        assert tx.scalar("SELECT count(*) FROM outbox WHERE type = 'invite-created'") == 1


class TestDoubleTap:
    """The same person joining a one-use link twice at once (a double tap, a retry) gets their
    new invite once (201) and that same invite again (200), never a 404."""

    ROUNDS = 20

    @pytest.fixture(autouse=True)
    def host(self, clean_db: None) -> int:
        with db.transaction() as tx:
            add_user(tx, "uid-tapper")
            return add_user(tx, "uid-host")

    def one_use_link(self, host: int) -> str:
        with db.transaction() as tx:
            party = add_party(tx, host, in_hours(24))
            return links.create(tx, "uid-host", party_id=party, expires_at=None, max_uses=1).token

    def test_a_second_tap_while_the_first_is_joining_gets_the_same_invite(
        self, race_pool: db.Pool, host: int
    ) -> None:
        token = self.one_use_link(host)

        def tap(tx: OutboxTx) -> links.Joined:
            return links.join(tx, "uid-tapper", token)

        first: list[links.Joined] = []
        second = while_held(race_pool, lambda tx: first.append(tap(tx)), tap).result()

        assert (first[0].created, second.created) == (True, False)
        assert second.invite == first[0].invite

    def test_two_taps_released_together_answer_one_new_invite_and_the_same_again_every_time(
        self, race_pool: db.Pool, host: int
    ) -> None:
        outcomes = []
        for _ in range(self.ROUNDS):
            token = self.one_use_link(host)
            start = threading.Barrier(2)

            def tap(token: str = token, start: threading.Barrier = start) -> links.Joined:
                with race_pool.transaction() as plain:
                    start.wait()
                    return links.join(OutboxTx(plain), "uid-tapper", token)

            with ThreadPoolExecutor(2) as executor:
                taps = [executor.submit(tap) for _ in range(2)]
                joined = [future.result() for future in taps]
            outcomes.append(sorted(j.created for j in joined))
            assert joined[0].invite == joined[1].invite

        assert outcomes == [[False, True]] * self.ROUNDS
