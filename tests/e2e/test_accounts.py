"""Devices, push and read state over HTTP, against `realm serve` with its FCM stand-in and the
local feed (a test run's server uses the in-process event fallback)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from realm import db
from realm.devstack import emulators
from realm.devstack.fcm import fetch_received
from realm.events.notify import LocalFeed, local_feed_path
from tests.e2e.flows import Person
from tests.helpers import Client, Reply, in_hours, token

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 20) -> T:
    """The push goes out after the request's commit, in the event function: poll for it."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"nothing within {timeout:.0f}s")
        time.sleep(0.1)
    return found


@pytest.fixture(scope="module")
def stand_in(server: str) -> str:
    """The address of the server's FCM stand-in, from the file `realm serve` writes."""
    from realm.config import settings

    endpoint = emulators.read_hosts(settings.state_dir).get("REALM_FCM_ENDPOINT")
    assert endpoint, "realm serve did not say where its FCM stand-in is"
    return endpoint


def device(shape: str = "phone") -> str:
    return f"{shape}-{uuid.uuid4().hex}"


def register(person: Person, device_token: str, platform: str = "ios") -> Reply:
    return person.api.post(
        "/register-device",
        auth=person.token,
        json_body={"token": device_token, "platform": platform},
    )


def devices_of(person: Person) -> list[str]:
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT d.token FROM devices d JOIN users u ON u.id = d.user_id"
            " WHERE u.auth_uid = :u ORDER BY d.id",
            u=person.auth_uid,
        )
    return [str(row["token"]) for row in rows]


@pytest.fixture
def guest(api: Client) -> Person:
    return Person(api, "Guest")


@pytest.fixture
def host(api: Client) -> Person:
    return Person(api, "Host")


def test_registering_a_device_twice_answers_200_both_times_and_keeps_one(guest: Person) -> None:
    phone = device()

    first, again = register(guest, phone), register(guest, phone, "android")

    assert (first.status, again.status) == (200, 200)
    assert first.body["platform"] == "ios"
    assert again.body["platform"] == "android"
    assert devices_of(guest) == [phone]


def test_unregistering_is_idempotent_and_says_whether_the_device_was_yours(
    guest: Person,
) -> None:
    phone = device()
    register(guest, phone)

    replies = [
        guest.api.post("/unregister-device", auth=guest.token, json_body={"token": phone})
        for _ in range(2)
    ]

    assert [(r.status, r.body["removed"]) for r in replies] == [(200, True), (200, False)]
    assert devices_of(guest) == []


def test_someone_who_has_not_signed_up_cannot_register_a_device(api: Client) -> None:
    reply = api.post(
        "/register-device",
        auth=token(f"nobody-{uuid.uuid4().hex[:8]}"),
        json_body={"token": device(), "platform": "ios"},
    )

    assert (reply.status, reply.error_code) == (403, "signup_required")


BAD_DEVICES: dict[str, tuple[str, Any]] = {
    "an_unknown_platform": ("/register-device", {"token": "t", "platform": "tv"}),
    "a_missing_platform": ("/register-device", {"token": "t"}),
    "an_empty_token": ("/register-device", {"token": "", "platform": "ios"}),
    "an_oversized_token": ("/register-device", {"token": "t" * 4097, "platform": "ios"}),
    "a_token_with_spaces": ("/register-device", {"token": "a b", "platform": "ios"}),
    "a_token_that_is_a_number": ("/register-device", {"token": 12345, "platform": "ios"}),
    "an_unknown_field": ("/register-device", {"token": "t", "platform": "ios", "user": 1}),
    "a_list_instead_of_an_object": ("/register-device", ["t", "ios"]),
    "unregister_without_a_token": ("/unregister-device", {}),
    "unregister_with_a_null_token": ("/unregister-device", {"token": None}),
    "read_with_neither_ids_nor_all": ("/mark-notifications-read", {}),
    "read_with_both_ids_and_all": ("/mark-notifications-read", {"ids": ["a"], "all": True}),
    "read_with_all_false": ("/mark-notifications-read", {"all": False}),
    "read_with_no_ids": ("/mark-notifications-read", {"ids": []}),
    "read_with_501_ids": ("/mark-notifications-read", {"ids": [f"n{n}" for n in range(501)]}),
    "read_with_an_id_that_is_a_path": ("/mark-notifications-read", {"ids": ["../x"]}),
    "read_with_an_id_that_is_a_number": ("/mark-notifications-read", {"ids": [12]}),
}


@pytest.mark.parametrize("case", sorted(BAD_DEVICES))
def test_bad_input_is_a_422_with_the_error_body_and_changes_nothing(
    guest: Person, case: str
) -> None:
    path, body = BAD_DEVICES[case]
    before = devices_of(guest)

    reply = guest.api.post(path, auth=guest.token, json_body=body)

    assert reply.status == 422, reply
    assert reply.error_code == "validation_error"
    assert set(reply.body["error"]) == {"code", "message", "details"}
    assert devices_of(guest) == before


def test_a_body_that_is_not_json_is_refused_with_the_error_body(guest: Person) -> None:
    reply = guest.api.post(
        "/register-device",
        auth=guest.token,
        data=b'{"token": "t", ',
        headers={"Content-Type": "application/json"},
    )

    assert (reply.status, reply.error_code) == (400, "malformed_json")


def test_an_invite_is_pushed_to_each_device_of_the_guest_with_the_notification_id(
    host: Person, guest: Person, stand_in: str
) -> None:
    phone, tablet = device(), device()
    register(guest, phone, "ios")
    register(guest, tablet, "android")
    party = host.create_party(in_hours(24), flat="PUSHFLAT")

    invite = host.invite(party, guest).body
    received = eventually(lambda: len(fetch_received(stand_in, [phone, tablet])) == 2 or None)

    assert received
    pushes = fetch_received(stand_in, [phone, tablet])
    assert {p["token"] for p in pushes} == {phone, tablet}
    data = pushes[0]["message"]["data"]
    assert data["type"] == "invite-created"
    assert (data["party_id"], data["invite_id"]) == (str(party), str(invite["id"]))
    [note] = LocalFeed(local_feed_path()).recent(guest.auth_uid)
    assert data["notification_id"] == note["id"], "the app opens the notification it was sent"
    assert "Host" in pushes[0]["message"]["notification"]["body"]
    assert guest.auth_uid not in json.dumps(pushes), "no uid of anyone in the payload"


def test_a_dead_token_is_removed_when_fcm_says_so(
    host: Person, guest: Person, stand_in: str
) -> None:
    gone = device("unregistered")
    register(guest, gone)

    host.invite(host.create_party(in_hours(24)), guest)

    eventually(lambda: fetch_received(stand_in, [gone]))
    eventually(lambda: devices_of(guest) == [] or None)


@pytest.fixture
def notified(host: Person, guest: Person) -> list[str]:
    """The guest with three notifications (three invites), as notify-guest wrote them."""
    for _ in range(3):
        host.invite(host.create_party(in_hours(24)), guest)
    feed = LocalFeed(local_feed_path())
    notes = eventually(lambda: len(feed.recent(guest.auth_uid)) == 3 or None)
    assert notes
    return [note["id"] for note in feed.recent(guest.auth_uid)]


def test_marking_notifications_read_counts_the_callers_own_unread_ones(
    guest: Person, host: Person, notified: list[str]
) -> None:
    def mark(person: Person, body: Any) -> Reply:
        return person.api.post("/mark-notifications-read", auth=person.token, json_body=body)

    assert mark(host, {"ids": notified}).body == {"updated": 0}, "not the host's notifications"
    assert mark(guest, {"ids": [notified[0], "no-such-notification"]}).body == {"updated": 1}
    assert mark(guest, {"all": True}).body == {"updated": 2}
    assert mark(guest, {"all": True}).body == {"updated": 0}
    feed = LocalFeed(local_feed_path())
    assert all(note["read"] for note in feed.recent(guest.auth_uid))
