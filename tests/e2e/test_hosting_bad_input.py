"""Bad input to the host's functions: the right 4xx with the API's error body, a code the
function declares in the OpenAPI document, and nothing changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from realm import db
from realm.devstack.server import REPO_ROOT
from tests.e2e.flows import Person
from tests.e2e.test_bad_input import refused
from tests.helpers import Client, Reply, add_party, in_hours

TABLES = (
    "users",
    "parties",
    "invites",
    "outbox",
    "party_hosts",
    "notification_recipients",
    "reminders_sent",
    "calendar_feeds",
)
OPENAPI = json.loads((REPO_ROOT / "shared/realm/openapi.json").read_text())


def snapshot() -> dict[str, Any]:
    with db.transaction() as tx:
        counts = {t: int(tx.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}
        rows = tx.all(
            "SELECT id, flat, title, first_entry, capacity, max_plus_ones, guest_list_visible,"
            " revision, cancelled_at FROM parties ORDER BY id"
        )
        invites = tx.all("SELECT id, status, plus_ones FROM invites ORDER BY id")
    return {"counts": counts, "parties": rows, "invites": invites}


class Cast:
    def __init__(self, api: Client) -> None:
        self.host, self.guest = Person(api, "Host"), Person(api, "Guest")
        self.stranger = Person(api, "Stranger")
        self.party = self.host.create_party(in_hours(24), capacity=5)
        self.host.invite(self.party, self.guest)
        with db.transaction() as tx:
            self.past = add_party(tx, self.host.id, in_hours(-13), flat="PAST")
        self.cancelled = self.host.create_party(in_hours(30), flat="GONE")
        assert self.host.post("/cancel-party", party_id=self.cancelled).status == 200


@pytest.fixture
def cast(api: Client) -> Iterator[Cast]:
    made = Cast(api)
    before = snapshot()
    yield made
    assert snapshot() == before, "a refused request changed the database"


def declared(path: str, status: int, code: str) -> None:
    [operation] = OPENAPI["paths"][path].values()
    assert code in operation["responses"][str(status)]["description"], (
        f"{path} answers {status} {code} without declaring it"
    )


def check(reply: Reply, path: str, status: int, code: str) -> None:
    refused(reply, status, code)
    declared(path, status, code)


Body = Callable[[Cast], dict[str, Any]]
INVALID: dict[str, tuple[str, Body, str]] = {
    "update: an unknown field": ("/update-party", lambda c: {"party_id": c.party, "x": 1}, "x"),
    "update: capacity as a string": (
        "/update-party",
        lambda c: {"party_id": c.party, "capacity": "10"},
        "capacity",
    ),
    "update: capacity 0": (
        "/update-party",
        lambda c: {"party_id": c.party, "capacity": 0},
        "capacity",
    ),
    "update: capacity over 10,000": (
        "/update-party",
        lambda c: {"party_id": c.party, "capacity": 10_001},
        "capacity",
    ),
    "update: max_plus_ones -1": (
        "/update-party",
        lambda c: {"party_id": c.party, "max_plus_ones": -1},
        "max_plus_ones",
    ),
    "update: max_plus_ones 11": (
        "/update-party",
        lambda c: {"party_id": c.party, "max_plus_ones": 11},
        "max_plus_ones",
    ),
    "update: first_entry without an offset": (
        "/update-party",
        lambda c: {"party_id": c.party, "first_entry": "2030-01-01T20:00:00"},
        "first_entry",
    ),
    "update: a null flat": ("/update-party", lambda c: {"party_id": c.party, "flat": None}, "flat"),
    "update: a blank flat": (
        "/update-party",
        lambda c: {"party_id": c.party, "flat": "  "},
        "flat",
    ),
    "update: guest_list_visible as a string": (
        "/update-party",
        lambda c: {"party_id": c.party, "guest_list_visible": "yes"},
        "guest_list_visible",
    ),
    "update: a party id as a string": (
        "/update-party",
        lambda c: {"party_id": str(c.party), "title": "T"},
        "party_id",
    ),
    "cancel: a missing party id": ("/cancel-party", lambda c: {}, "party_id"),
    "cancel: a negative party id": ("/cancel-party", lambda c: {"party_id": -1}, "party_id"),
    "add-cohost: a user id as a boolean": (
        "/add-cohost",
        lambda c: {"party_id": c.party, "user_id": True},
        "user_id",
    ),
    "remove-guest: a missing guest id": (
        "/remove-guest",
        lambda c: {"party_id": c.party},
        "guest_id",
    ),
    "respond: 11 plus-ones": (
        "/respond-invite",
        lambda c: {"party_id": c.party, "response": "confirmed", "plus_ones": 11},
        "plus_ones",
    ),
    "respond: plus-ones as a string": (
        "/respond-invite",
        lambda c: {"party_id": c.party, "response": "confirmed", "plus_ones": "1"},
        "plus_ones",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_values_are_a_422_naming_the_field(cast: Cast, case: str) -> None:
    path, body, field = INVALID[case]
    who = cast.guest if path == "/respond-invite" else cast.host
    reply = who.post(path, **body(cast))
    check(reply, path, 422, "validation_error")
    assert field in {detail["field"] for detail in reply.body["error"]["details"]}


RULES: dict[str, tuple[str, str, Body, int, str]] = {
    "moving a party into the past": (
        "host",
        "/update-party",
        lambda c: {"party_id": c.party, "first_entry": in_hours(-1).isoformat()},
        422,
        "first_entry_passed",
    ),
    "moving a party beyond two years": (
        "host",
        "/update-party",
        lambda c: {"party_id": c.party, "first_entry": in_hours(24 * 800).isoformat()},
        422,
        "too_far_ahead",
    ),
    "changing a party that is over": (
        "host",
        "/update-party",
        lambda c: {"party_id": c.past, "title": "T"},
        422,
        "party_over",
    ),
    "changing a cancelled party": (
        "host",
        "/update-party",
        lambda c: {"party_id": c.cancelled, "title": "T"},
        422,
        "party_cancelled",
    ),
    "cancelling a party that is over": (
        "host",
        "/cancel-party",
        lambda c: {"party_id": c.past},
        422,
        "party_over",
    ),
    "a co-host of a cancelled party": (
        "host",
        "/add-cohost",
        lambda c: {"party_id": c.cancelled, "user_id": c.stranger.id},
        422,
        "party_cancelled",
    ),
    "the host as their own co-host": (
        "host",
        "/add-cohost",
        lambda c: {"party_id": c.party, "user_id": c.host.id},
        422,
        "self_cohost",
    ),
    "a co-host who does not exist": (
        "host",
        "/add-cohost",
        lambda c: {"party_id": c.party, "user_id": 999_999_999},
        404,
        "user_not_found",
    ),
    "removing a co-host who is not one": (
        "host",
        "/remove-cohost",
        lambda c: {"party_id": c.party, "user_id": c.stranger.id},
        404,
        "cohost_not_found",
    ),
    "removing someone who is not a guest": (
        "host",
        "/remove-guest",
        lambda c: {"party_id": c.party, "guest_id": c.stranger.id},
        404,
        "guest_not_found",
    ),
    "removing a guest of a party that is over": (
        "host",
        "/remove-guest",
        lambda c: {"party_id": c.past, "guest_id": c.guest.id},
        422,
        "party_over",
    ),
    "a party that does not exist": (
        "host",
        "/update-party",
        lambda c: {"party_id": 999_999_999, "title": "T"},
        404,
        "party_not_found",
    ),
    "a party that is not yours": (
        "stranger",
        "/cancel-party",
        lambda c: {"party_id": c.party},
        404,
        "party_not_found",
    ),
    "more plus-ones than the party allows": (
        "guest",
        "/respond-invite",
        lambda c: {"party_id": c.party, "response": "confirmed", "plus_ones": 1},
        422,
        "too_many_plus_ones",
    ),
}


@pytest.mark.parametrize("case", sorted(RULES))
def test_against_the_rules_is_the_right_4xx(cast: Cast, case: str) -> None:
    who, path, body, status, code = RULES[case]
    check(getattr(cast, who).post(path, **body(cast)), path, status, code)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 422, "validation_error"),
        ("party_id=abc", 422, "validation_error"),
        ("party_id=0", 422, "validation_error"),
        ("party_id=999999999", 404, "party_not_found"),
    ],
)
def test_a_bad_get_party_query_is_refused(cast: Cast, query: str, status: int, code: str) -> None:
    check(cast.host.get(f"/get-party?{query}"), "/get-party", status, code)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("status=maybe", 422, "validation_error"),
        ("limit=0", 422, "validation_error"),
        ("limit=201", 422, "validation_error"),
        ("cursor=bm90LWEtY3Vyc29y", 400, "invalid_cursor"),
    ],
)
def test_a_bad_list_guests_query_is_refused(cast: Cast, query: str, status: int, code: str) -> None:
    reply = cast.host.get(f"/list-guests?party_id={cast.party}&{query}")
    check(reply, "/list-guests", status, code)


def test_a_guest_asking_for_a_hidden_guest_list_is_a_403(cast: Cast) -> None:
    check(cast.guest.guests(cast.party), "/list-guests", 403, "guest_list_hidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/get-party"),
        ("POST", "/list-guests"),
        ("GET", "/update-party"),
        ("GET", "/cancel-party"),
        ("GET", "/add-cohost"),
        ("GET", "/remove-cohost"),
        ("GET", "/remove-guest"),
        ("GET", "/calendar-link"),
        ("POST", "/calendar"),
    ],
)
def test_a_wrong_method_is_a_405(cast: Cast, api: Client, method: str, path: str) -> None:
    reply = api.call(method, path, auth=cast.host.token)
    check(reply, path, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "path",
    [
        "/get-party?party_id=1",
        "/list-guests?party_id=1",
        "/update-party",
        "/cancel-party",
        "/add-cohost",
        "/remove-cohost",
        "/remove-guest",
        "/calendar-link",
    ],
)
def test_every_host_function_but_the_feed_needs_a_token(cast: Cast, api: Client, path: str) -> None:
    method = "GET" if "?" in path else "POST"
    reply = api.call(method, path, json_body={} if method == "POST" else None)
    check(reply, path.split("?")[0], 401, "unauthenticated")


def test_a_calendar_without_its_secret_or_with_a_wrong_one_is_refused(
    cast: Cast, api: Client
) -> None:
    check(api.get("/calendar"), "/calendar", 422, "validation_error")
    check(api.get("/calendar?token=" + "A" * 43), "/calendar", 404, "calendar_not_found")
    check(api.get("/calendar?token=not%20a%20token"), "/calendar", 422, "validation_error")


def test_a_party_s_time_in_the_past_by_a_second_is_already_too_late(cast: Cast) -> None:
    just_gone = (in_hours(0) - timedelta(seconds=1)).isoformat()
    reply = cast.host.post("/update-party", party_id=cast.party, first_entry=just_gone)
    check(reply, "/update-party", 422, "first_entry_passed")
