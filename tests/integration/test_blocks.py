"""Blocking against PostgreSQL: idempotent, and every effect the design gives it."""

from __future__ import annotations

import pytest

from realm import errors
from realm.db import Tx
from realm.events.outbox import OutboxTx
from realm.hosting import cohosts, invites
from realm.people import blocks
from tests.helpers import add_invite, add_party, add_user, in_hours


@pytest.fixture
def otx(tx: Tx) -> OutboxTx:
    return OutboxTx(tx)


def _blocks(tx: Tx) -> list[tuple[int, int]]:
    return [
        (row["blocker_id"], row["blocked_id"])
        for row in tx.all("SELECT blocker_id, blocked_id FROM blocks ORDER BY 1, 2")
    ]


def test_blocking_twice_is_one_block_and_unblocking_twice_is_none(tx: Tx) -> None:
    me, other = add_user(tx, "uid-me"), add_user(tx, "uid-other")

    blocks.block(tx, "uid-me", other)
    blocks.block(tx, "uid-me", other)
    assert _blocks(tx) == [(me, other)]

    blocks.unblock(tx, "uid-me", other)
    blocks.unblock(tx, "uid-me", other)
    assert _blocks(tx) == []


def test_blocking_someone_who_blocked_you_works_like_blocking_anyone(tx: Tx) -> None:
    me, other = add_user(tx, "uid-me"), add_user(tx, "uid-other")
    blocks.block(tx, "uid-other", me)

    blocks.block(tx, "uid-me", other)

    assert _blocks(tx) == sorted([(other, me), (me, other)])


def test_nobody_can_block_or_unblock_themselves(tx: Tx) -> None:
    me = add_user(tx, "uid-me")

    with pytest.raises(errors.SelfBlock):
        blocks.block(tx, "uid-me", me)
    with pytest.raises(errors.SelfBlock):
        blocks.unblock(tx, "uid-me", me)
    assert _blocks(tx) == []


def test_an_unknown_user_cannot_be_blocked_or_unblocked(tx: Tx) -> None:
    add_user(tx, "uid-me")

    with pytest.raises(errors.UserNotFound):
        blocks.block(tx, "uid-me", 999_999)
    with pytest.raises(errors.UserNotFound):
        blocks.unblock(tx, "uid-me", 999_999)


class TestInvites:
    def test_the_blocked_cannot_invite_the_blocker_by_id_as_if_they_were_unknown(
        self, otx: OutboxTx
    ) -> None:
        blocker, blocked = add_user(otx, "uid-blocker"), add_user(otx, "uid-blocked")
        party = add_party(otx, blocked, in_hours(24))
        blocks.block(otx, "uid-blocker", blocked)

        with pytest.raises(errors.GuestNotFound) as refused:
            invites.create(otx, "uid-blocked", party_id=party, guest_id=blocker)
        with pytest.raises(errors.GuestNotFound) as unknown:
            invites.create(otx, "uid-blocked", party_id=party, guest_id=999_999)

        assert refused.value.message == unknown.value.message
        assert otx.scalar("SELECT count(*) FROM invites") == 0
        assert otx.events == []

    def test_the_blocked_cannot_find_the_blocker_by_handle(self, otx: OutboxTx) -> None:
        blocker = add_user(otx, "uid-blocker")
        blocked = add_user(otx, "uid-blocked")
        handle = otx.scalar("SELECT handle FROM users WHERE id = :id", id=blocker)
        theirs = add_party(otx, blocked, in_hours(24))
        mine = add_party(otx, blocker, in_hours(24))
        blocks.block(otx, "uid-blocker", blocked)

        with pytest.raises(errors.GuestNotFound):
            invites.create(otx, "uid-blocked", party_id=theirs, handle=handle)
        with pytest.raises(errors.GuestNotFound):
            invites.create(otx, "uid-blocked", party_id=theirs, handle="no_such_handle")
        invite = invites.create(otx, "uid-blocker", party_id=mine, handle="uid_blocked")
        assert invite.guest_id == blocked

    def test_the_blocker_may_still_invite_the_blocked(self, otx: OutboxTx) -> None:
        blocker, blocked = add_user(otx, "uid-blocker"), add_user(otx, "uid-blocked")
        party = add_party(otx, blocker, in_hours(24))
        blocks.block(otx, "uid-blocker", blocked)

        invite = invites.create(otx, "uid-blocker", party_id=party, guest_id=blocked)

        assert invite.status == "invited"

    def test_invites_made_before_a_block_stay(self, tx: Tx) -> None:
        host, guest = add_user(tx, "uid-host"), add_user(tx, "uid-guest")
        party = add_party(tx, host, in_hours(24))
        add_invite(tx, party, guest)
        add_invite(tx, add_party(tx, guest, in_hours(24)), host)

        blocks.block(tx, "uid-host", guest)

        assert tx.scalar("SELECT count(*) FROM invites") == 2


class TestCohosts:
    def test_the_blocked_cannot_make_the_blocker_a_cohost_as_if_they_were_unknown(
        self, otx: OutboxTx
    ) -> None:
        blocker, blocked = add_user(otx, "uid-blocker"), add_user(otx, "uid-blocked")
        party = add_party(otx, blocked, in_hours(24))
        blocks.block(otx, "uid-blocker", blocked)

        with pytest.raises(errors.UserNotFound) as refused:
            cohosts.add(otx, "uid-blocked", party, blocker)
        with pytest.raises(errors.UserNotFound) as unknown:
            cohosts.add(otx, "uid-blocked", party, 999_999)

        assert refused.value.message == unknown.value.message
        assert otx.scalar("SELECT count(*) FROM party_hosts WHERE role = 'cohost'") == 0
        assert otx.events == [], "nobody is told 'you are a co-host'"

    def test_the_blocker_may_still_make_the_blocked_a_cohost(self, otx: OutboxTx) -> None:
        blocker, blocked = add_user(otx, "uid-blocker"), add_user(otx, "uid-blocked")
        party = add_party(otx, blocker, in_hours(24))
        blocks.block(otx, "uid-blocker", blocked)

        assert cohosts.add(otx, "uid-blocker", party, blocked).user.id == blocked


def test_blocks_go_with_either_user(tx: Tx) -> None:
    add_user(tx, "uid-me")
    other, third = add_user(tx, "uid-other"), add_user(tx)
    blocks.block(tx, "uid-me", other)
    blocks.block(tx, "uid-other", third)

    tx.execute("DELETE FROM users WHERE id = :id", id=other)

    assert _blocks(tx) == []
