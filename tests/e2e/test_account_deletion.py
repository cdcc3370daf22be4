"""Deleting an account and exporting one's data over HTTP, against `realm serve` (its events go
to notify-guest and erase-account in the same process; its feed is the local file)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from realm.events.notify import LocalFeed, local_feed_path
from realm.events.publishing import Message, push_envelope
from tests.e2e.flows import Person
from tests.e2e.test_accounts import eventually
from tests.helpers import Client, in_hours, multipart, token

CONFIRM = {"confirm": "delete my account"}


@pytest.fixture
def host(api: Client) -> Person:
    return Person(api, "Leaving Host")


@pytest.fixture
def guest(api: Client) -> Person:
    return Person(api, "Staying Guest")


def feed_of(person: Person) -> list[dict[str, Any]]:
    return LocalFeed(local_feed_path()).recent(person.auth_uid, limit=100)


def test_a_host_leaves_their_guests_are_told_and_the_same_uid_starts_again_clean(
    host: Person, guest: Person
) -> None:
    party = host.create_party(in_hours(30), flat="GOODBYE")
    host.invite(party, guest)
    assert guest.respond(party, "confirmed").status == 200
    eventually(lambda: feed_of(host) or None)  # "Staying Guest is coming"

    reply = host.post("/delete-account", **CONFIRM)

    assert (reply.status, reply.body) == (202, {"status": "accepted", "parties_cancelled": 1})
    assert (host.get("/me").status, host.get("/me").body["error"]["code"]) == (
        403,
        "signup_required",
    )
    told = eventually(lambda: [n for n in feed_of(guest) if n["type"] == "party-cancelled"])
    assert told[0]["body"] == "GOODBYE is cancelled: its host left Realm."
    # The invitation named the host: the erasure takes it out of the guest's feed.
    eventually(lambda: all("Leaving Host" not in n["body"] for n in feed_of(guest)) or None)
    assert guest.flats("confirmed") == []
    eventually(lambda: feed_of(host) == [] or None)

    body, content_type = multipart({"display_name": "Back", "email": f"b-{host.auth_uid}@x.test"})
    again = host.api.post(
        "/signup", auth=host.token, data=body, headers={"Content-Type": content_type}
    )
    assert again.status == 201, again
    me = host.get("/me").body
    assert (me["is_host"], me["photo"], me["id"] != host.id) == (False, None, True)
    assert host.flats("hosting") == host.flats("invited") == []


BAD_DELETIONS: dict[str, Any] = {
    "another_sentence": {"confirm": "yes, delete it"},
    "the_words_in_capitals": {"confirm": "DELETE MY ACCOUNT"},
    "an_empty_confirmation": {"confirm": ""},
}
INVALID_DELETIONS: dict[str, Any] = {
    "no_confirmation": {},
    "a_confirmation_that_is_true": {"confirm": True},
    "a_confirmation_that_is_a_list": {"confirm": ["delete my account"]},
    "an_unknown_field": {**CONFIRM, "reason": "bye"},
    "a_list_instead_of_an_object": ["delete my account"],
    "an_overlong_confirmation": {"confirm": "delete my account" * 10},
}


@pytest.mark.parametrize("case", sorted(BAD_DELETIONS))
def test_anything_but_the_exact_words_is_a_422_and_deletes_nothing(
    guest: Person, case: str
) -> None:
    reply = guest.api.post("/delete-account", auth=guest.token, json_body=BAD_DELETIONS[case])

    assert (reply.status, reply.error_code) == (422, "confirmation_mismatch")
    assert guest.get("/me").status == 200


@pytest.mark.parametrize("case", sorted(INVALID_DELETIONS))
def test_a_malformed_deletion_is_a_validation_error_and_deletes_nothing(
    guest: Person, case: str
) -> None:
    reply = guest.api.post("/delete-account", auth=guest.token, json_body=INVALID_DELETIONS[case])

    assert (reply.status, reply.error_code) == (422, "validation_error")
    assert set(reply.body["error"]) == {"code", "message", "details"}
    assert guest.get("/me").status == 200


def test_a_deletion_that_is_not_json_is_refused(guest: Person) -> None:
    broken = guest.api.post(
        "/delete-account",
        auth=guest.token,
        data=b'{"confirm": ',
        headers={"Content-Type": "application/json"},
    )
    as_text = guest.api.post(
        "/delete-account",
        auth=guest.token,
        data=b"delete my account",
        headers={"Content-Type": "text/plain"},
    )

    assert (broken.status, broken.error_code) == (400, "malformed_json")
    assert (as_text.status, as_text.error_code) == (415, "unsupported_media_type")
    assert guest.get("/me").status == 200


def test_someone_who_never_signed_up_has_no_account_to_delete_or_export(api: Client) -> None:
    stranger = token(f"nobody-{uuid.uuid4().hex[:8]}")

    deleted = api.post("/delete-account", auth=stranger, json_body=CONFIRM)
    exported = api.get("/export-my-data", auth=stranger)

    assert (deleted.status, deleted.error_code) == (403, "signup_required")
    assert (exported.status, exported.error_code) == (403, "signup_required")


def test_the_export_is_a_json_attachment_of_the_callers_data(host: Person, guest: Person) -> None:
    party = host.create_party(in_hours(30), flat="EXPORTED")
    host.invite(party, guest)

    reply = host.get("/export-my-data")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="realm-data-\d{4}-\d{2}-\d{2}\.json"',
        reply.headers["Content-Disposition"],
    )
    assert reply.body["profile"]["email"] == f"{host.auth_uid}@example.test"
    [exported] = reply.body["parties"]
    assert [g["user"] for g in exported["guests"]] == [
        {"id": guest.id, "handle": guest.handle, "display_name": "Staying Guest"}
    ]
    assert guest.auth_uid not in json.dumps(reply.body)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_the_export_is_a_get_and_nothing_else(host: Person, method: str) -> None:
    reply = host.api.call(method, "/export-my-data", auth=host.token)

    assert (reply.status, reply.error_code) == (405, "method_not_allowed")
    assert reply.headers["Allow"] == "GET"


def test_an_export_with_a_body_is_refused(host: Person) -> None:
    reply = host.api.get(
        "/export-my-data",
        auth=host.token,
        data=b'{"everything": true}',
        headers={"Content-Type": "application/json"},
    )

    assert (reply.status, reply.error_code) == (400, "body_not_allowed")


def test_deleting_is_a_post(host: Person) -> None:
    reply = host.get("/delete-account")

    assert (reply.status, reply.error_code) == (405, "method_not_allowed")
    assert host.get("/me").status == 200


def an_account_deleted_push(data: dict[str, Any]) -> bytes:
    message = {
        "event_id": str(uuid.uuid4()),
        "type": "account-deleted",
        "occurred_at": "2030-01-01T00:00:00+00:00",
        "data": data,
    }
    envelope = push_envelope(Message.of("account-deleted", message), "subscriptions/s")
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"message": {}}',
        an_account_deleted_push({}),
        an_account_deleted_push({"erasure_id": "12"}),
        an_account_deleted_push({"erasure_id": 987654321}),  # none such: done long ago
    ],
    ids=["not-json", "no-message", "no-erasure", "erasure-as-text", "unknown-erasure"],
)
def test_a_push_to_erase_account_that_erases_nothing_is_acknowledged(
    api: Client, body: bytes
) -> None:
    reply = api.post("/erase-account", data=body, headers={"Content-Type": "application/json"})

    assert 200 <= reply.status < 300, "acknowledged: a redelivery could never do better"
