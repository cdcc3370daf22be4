"""Devices in PostgreSQL: registering is idempotent, a token is one installation (it moves to
whoever registers it), and a user keeps at most ten, the least recently registered going."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from realm import db
from realm.accounts import devices
from realm.errors import SignupRequired
from tests.helpers import add_user, uid

pytestmark = pytest.mark.usefixtures("clean_db")


def person() -> str:
    auth_uid = uid("owner")
    with db.transaction() as tx:
        add_user(tx, auth_uid)
    return auth_uid


def register(auth_uid: str, token: str, platform: devices.Platform = "ios") -> None:
    with db.transaction() as tx:
        devices.register(tx, auth_uid, token, platform)


def tokens_of(auth_uid: str) -> list[str]:
    with db.transaction() as tx:
        return [str(row["token"]) for row in devices.of_user(tx, auth_uid)]


def test_registering_a_token_twice_keeps_one_device_with_the_latest_platform() -> None:
    me = person()

    register(me, "tok-1", "ios")
    register(me, "tok-1", "web")

    with db.transaction() as tx:
        [device] = devices.of_user(tx, me)
    assert (device["token"], device["platform"]) == ("tok-1", "web")


def test_a_token_registered_by_someone_else_moves_to_them() -> None:
    first, second = person(), person()
    register(first, "shared-phone")

    register(second, "shared-phone")

    assert tokens_of(first) == []
    assert tokens_of(second) == ["shared-phone"]


def test_the_eleventh_device_drops_the_least_recently_registered() -> None:
    me = person()
    for n in range(10):
        register(me, f"tok-{n}")
    register(me, "tok-0")  # the app on device 0 started again: now the most recent

    register(me, "tok-new")

    kept = tokens_of(me)
    assert len(kept) == 10
    assert "tok-1" not in kept, "device 1 was registered least recently"
    assert {"tok-0", "tok-new"} <= set(kept)


def test_registrations_at_once_still_leave_at_most_ten() -> None:
    me = person()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: register(me, f"tok-{n}"), range(30)))

    assert len(tokens_of(me)) == 10


def test_unregistering_removes_only_the_callers_own_token() -> None:
    me, other = person(), person()
    register(me, "mine")
    register(other, "theirs")

    with db.transaction() as tx:
        assert devices.unregister(tx, me, "mine") is True
        assert devices.unregister(tx, me, "mine") is False
        assert devices.unregister(tx, me, "theirs") is False

    assert tokens_of(me) == []
    assert tokens_of(other) == ["theirs"]


def test_someone_who_has_not_signed_up_registers_nothing() -> None:
    with pytest.raises(SignupRequired), db.transaction() as tx:
        devices.register(tx, "nobody-" + uid(), "tok", "ios")


def test_deleting_a_user_deletes_their_devices() -> None:
    me = person()
    register(me, "tok")

    with db.transaction() as tx:
        tx.execute("DELETE FROM users WHERE auth_uid = :u", u=me)
        assert tx.scalar("SELECT count(*) FROM devices") == 0
