"""Bad input gets a clear 4xx with the API's error body, and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from realm import db
from realm.devstack.tokens import new_private_key
from tests.e2e.flows import Person
from tests.helpers import Client, Reply, in_hours, multipart, token
from tests.photo_samples import jpeg

TABLES = ("users", "parties", "invites", "outbox")


def _counts() -> dict[str, int]:
    with db.transaction() as tx:
        return {table: int(tx.scalar(f"SELECT count(*) FROM {table}")) for table in TABLES}


@pytest.fixture
def host(api: Client) -> Person:
    return Person(api, "Host")


@pytest.fixture
def party(host: Person) -> int:
    return host.create_party(in_hours(24))


@pytest.fixture
def unchanged(host: Person, party: int) -> Iterator[None]:
    """Counts rows after the arranging (a host and their party) and again after the test."""
    before = _counts()
    yield
    assert _counts() == before, "a refused request changed the database"


def refused(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply
    assert set(reply.body) == {"error"}
    assert set(reply.body["error"]) == {"code", "message", "details"}
    assert reply.body["error"]["code"] == code
    assert reply.body["error"]["message"]
    assert "Traceback" not in json.dumps(reply.body)
    assert reply.headers["Content-Type"] == "application/json"


def _raw(
    api: Client, person: Person, path: str, data: bytes, content_type: str = "application/json"
) -> Reply:
    return api.post(path, auth=person.token, data=data, headers={"Content-Type": content_type})


@pytest.mark.usefixtures("unchanged")
class TestMalformedBodies:
    def test_malformed_json_is_a_400(self, api: Client, host: Person) -> None:
        refused(_raw(api, host, "/create-party", b'{"flat": "F", '), 400, "malformed_json")

    def test_a_body_that_is_not_json_is_a_415(self, api: Client, host: Person) -> None:
        refused(
            _raw(api, host, "/create-party", b"flat=F", "application/x-www-form-urlencoded"),
            415,
            "unsupported_media_type",
        )

    def test_a_body_over_the_size_limit_is_a_413(self, api: Client, host: Person) -> None:
        huge = json.dumps({"flat": "F", "description": "x" * 200_000}).encode()
        refused(_raw(api, host, "/create-party", huge), 413, "payload_too_large")

    def test_a_json_array_instead_of_an_object_is_a_422(self, api: Client, host: Person) -> None:
        refused(_raw(api, host, "/create-party", b"[]"), 422, "validation_error")


CASES: dict[str, tuple[str, Callable[[int], dict[str, Any]], str]] = {
    "a_missing_field": ("/create-party", lambda _: {"flat": "F"}, "first_entry"),
    "a_datetime_without_an_offset": (
        "/create-party",
        lambda _: {"flat": "F", "first_entry": "2030-01-01T20:00:00"},
        "first_entry",
    ),
    "a_datetime_that_is_not_one": (
        "/create-party",
        lambda _: {"flat": "F", "first_entry": "next friday"},
        "first_entry",
    ),
    "a_string_too_long": (
        "/create-party",
        lambda _: {"flat": "F" * 65, "first_entry": in_hours(5).isoformat()},
        "flat",
    ),
    "a_blank_flat": (
        "/create-party",
        lambda _: {"flat": "   ", "first_entry": in_hours(5).isoformat()},
        "flat",
    ),
    "a_nul_character": (
        "/create-party",
        lambda _: {"flat": "F\u0000", "first_entry": in_hours(5).isoformat()},
        "flat",
    ),
    "a_flat_of_only_invisible_characters": (
        "/create-party",
        lambda _: {"flat": "\u200b\u2066\u2069\ufeff", "first_entry": in_hours(5).isoformat()},
        "flat",
    ),
    "a_title_with_a_bidi_override": (
        "/create-party",
        lambda _: {"flat": "F", "title": "a\u202egnp.exe", "first_entry": in_hours(5).isoformat()},
        "title",
    ),
    "a_date_beyond_any_calendar_of_parties": (
        "/create-party",
        lambda _: {"flat": "F", "first_entry": "9999-12-31T23:00:00+00:00"},
        "first_entry",
    ),
    "a_capacity_out_of_range": (
        "/create-party",
        lambda _: {"flat": "F", "first_entry": in_hours(5).isoformat(), "capacity": 0},
        "capacity",
    ),
    "an_unknown_field": (
        "/create-party",
        lambda _: {"flat": "F", "first_entry": in_hours(5).isoformat(), "colour": "red"},
        "colour",
    ),
    "an_id_sent_as_a_string": (
        "/create-invite",
        lambda p: {"party_id": str(p), "guest_id": 1},
        "party_id",
    ),
    "an_id_sent_as_a_boolean": (
        "/create-invite",
        lambda p: {"party_id": p, "guest_id": True},
        "guest_id",
    ),
    "a_negative_id": ("/create-invite", lambda p: {"party_id": p, "guest_id": -3}, "guest_id"),
    "an_unknown_response": (
        "/respond-invite",
        lambda p: {"party_id": p, "response": "maybe"},
        "response",
    ),
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_values_are_a_422_naming_the_field(
    api: Client, host: Person, party: int, case: str
) -> None:
    path, body, field = CASES[case]
    reply = api.post(path, auth=host.token, json_body=body(party))
    refused(reply, 422, "validation_error")
    assert field in {detail["field"] for detail in reply.body["error"]["details"]}


@pytest.mark.usefixtures("unchanged")
def test_a_party_that_is_over_is_refused(api: Client, host: Person) -> None:
    reply = api.post(
        "/create-party",
        auth=host.token,
        json_body={"flat": "F", "first_entry": in_hours(-13).isoformat()},
    )
    refused(reply, 422, "party_over")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("view=everything", 422, "validation_error"),
        ("", 422, "validation_error"),
        ("view=invited&limit=0", 422, "validation_error"),
        ("view=invited&limit=101", 422, "validation_error"),
        ("view=invited&limit=ten", 422, "validation_error"),
        ("view=invited&cursor=bm90LWEtY3Vyc29y", 400, "invalid_cursor"),
        ("view=invited&cursor=%00%01", 400, "invalid_cursor"),
    ],
)
def test_a_bad_list_query_is_refused(
    api: Client, host: Person, query: str, status: int, code: str
) -> None:
    refused(api.get(f"/list-parties?{query}", auth=host.token), status, code)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/create-party"),
        ("POST", "/list-parties"),
        ("DELETE", "/create-invite"),
        ("PUT", "/me"),
        ("GET", "/signup"),
    ],
)
def test_a_wrong_method_is_a_405_saying_which_is_allowed(
    api: Client, host: Person, method: str, path: str
) -> None:
    reply = api.call(method, path, auth=host.token)
    refused(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] in {"GET", "POST"}


PATHS = [
    "/me",
    "/list-parties?view=invited",
    "/create-party",
    "/create-invite",
    "/respond-invite",
    "/signup",
]


def _method(path: str) -> str:
    return "GET" if path.startswith(("/me", "/list-parties")) else "POST"


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("path", PATHS)
def test_no_token_is_a_401(api: Client, path: str) -> None:
    reply = api.call(_method(path), path, json_body={} if _method(path) == "POST" else None)
    refused(reply, 401, "unauthenticated")
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "a_bad_signature": lambda who: token(who, key=new_private_key()),
    "an_expired_token": lambda who: token(who, iat=1_600_000_000, exp=1_600_003_600),
    "a_token_for_another_audience": lambda who: token(who, aud="someone-elses-project"),
    "a_token_from_another_issuer": lambda who: token(
        who, iss="https://securetoken.google.com/someone-elses-project"
    ),
    "a_token_with_an_empty_subject": lambda who: token(who, sub=""),
    "not_a_token_at_all": lambda who: "not.a.token",
    # Issue 12: these gave 500, 422, or a token that never expires.
    "an_expiry_of_nan": lambda who: token(who, exp=float("nan")),
    "an_expiry_of_infinity": lambda who: token(who, exp=float("inf")),
    "an_issue_time_of_minus_infinity": lambda who: token(who, iat=float("-inf")),
    "a_sign_in_time_of_nan": lambda who: token(who, auth_time=float("nan")),
    "a_subject_with_a_nul": lambda who: token(who, sub=who + "\u0000"),
    "a_subject_with_a_lone_surrogate": lambda who: token(who, sub=who + "\ud800"),
    "a_subject_over_128_bytes": lambda who: token(who, sub="é" * 65),
    "a_token_of_deeply_nested_json": lambda who: (
        base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"realm-local"}').decode().rstrip("=")
        + "."
        + base64.urlsafe_b64encode(b"[" * 6000).decode().rstrip("=")
        + ".c2ln"
    ),
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
@pytest.mark.parametrize("path", ["/me", "/create-party"])
def test_an_invalid_token_is_a_401(api: Client, host: Person, kind: str, path: str) -> None:
    bad = BAD_TOKENS[kind](host.auth_uid)
    reply = api.call(
        _method(path),
        path,
        auth=bad,
        json_body={"flat": "F", "first_entry": in_hours(5).isoformat()}
        if _method(path) == "POST"
        else None,
    )
    refused(reply, 401, "invalid_token")


@pytest.mark.usefixtures("unchanged")
class TestSignup:
    def _signup(self, api: Client, fields: dict[str, str]) -> Reply:
        body, content_type = multipart(fields)
        return api.post(
            "/signup",
            auth=token("signup-tester"),
            data=body,
            headers={"Content-Type": content_type},
        )

    def test_a_name_too_long_is_a_422(self, api: Client) -> None:
        refused(
            self._signup(api, {"display_name": "n" * 81, "email": "a@example.test"}),
            422,
            "validation_error",
        )

    def test_an_invalid_email_is_a_422(self, api: Client) -> None:
        refused(
            self._signup(api, {"display_name": "N", "email": "not-an-email"}),
            422,
            "validation_error",
        )

    def test_a_phone_number_not_in_e164_is_a_422(self, api: Client) -> None:
        refused(
            self._signup(
                api, {"display_name": "N", "email": "a@example.test", "phone": "0151 1234"}
            ),
            422,
            "validation_error",
        )

    def test_a_huge_form_field_is_a_413(self, api: Client) -> None:
        refused(
            self._signup(api, {"display_name": "n" * 600_000, "email": "a@example.test"}),
            413,
            "payload_too_large",
        )

    def test_a_json_signup_is_a_415(self, api: Client) -> None:
        reply = api.post(
            "/signup",
            auth=token("signup-tester"),
            json_body={"display_name": "N", "email": "a@example.test"},
        )
        refused(reply, 415, "unsupported_media_type")

    def test_a_taken_email_is_a_409(self, api: Client, host: Person) -> None:
        refused(
            self._signup(api, {"display_name": "N", "email": f"{host.auth_uid}@EXAMPLE.test"}),
            409,
            "email_taken",
        )


def test_an_unknown_path_is_a_404_with_the_error_body(api: Client) -> None:
    refused(api.get("/no-such-function"), 404, "no_such_function")


# -- text that is not text, and keys given twice (issue 12) ---------------------------------------


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        (b'{"flat": "F\xff", "first_entry": "2030-01-01T20:00:00+00:00"}', None, "invalid_utf8"),
        (
            b'{"flat": "F", "flat": "G", "first_entry": "2030-01-01T20:00:00+00:00"}',
            "flat",
            "duplicate_key",
        ),
        (
            b'{"flat": "\\ud800", "first_entry": "2030-01-01T20:00:00+00:00"}',
            None,
            "invalid_unicode",
        ),
    ],
    ids=["invalid-utf8", "duplicate-key", "lone-surrogate"],
)
def test_json_that_is_not_text_or_says_a_key_twice_is_a_422(
    api: Client, host: Person, body: bytes, field: str | None, kind: str
) -> None:
    reply = _raw(api, host, "/create-party", body)
    refused(reply, 422, "validation_error")
    assert [(d["field"], d["type"]) for d in reply.body["error"]["details"]] == [(field, kind)]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "query", ["view=invited&cursor=%FF%FE", "view=invited&view=hosting"], ids=["utf8", "twice"]
)
def test_a_query_string_that_is_not_text_or_names_a_parameter_twice_is_a_422(
    api: Client, host: Person, query: str
) -> None:
    refused(api.get(f"/list-parties?{query}", auth=host.token), 422, "validation_error")


@pytest.mark.usefixtures("unchanged")
def test_a_form_field_of_invalid_utf8_is_a_422_not_a_stored_replacement_character(
    api: Client,
) -> None:
    body, content_type = multipart({"display_name": "Ann", "email": "ann@example.test"})
    reply = api.post(
        "/signup",
        auth=token("utf8-tester"),
        data=body.replace(b"Ann", b"A\xffnn"),
        headers={"Content-Type": content_type},
    )
    refused(reply, 422, "validation_error")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("field", ["display_name", "photo"])
def test_a_form_field_given_twice_is_a_422_naming_it(api: Client, field: str) -> None:
    body, content_type = multipart(
        {"display_name": "Ann", "email": "ann@example.test"},
        {"photo": ("a.jpg", jpeg((8, 8)), "image/jpeg")},
    )
    parts = body.split(b"\r\n--")  # the first part has no leading CRLF
    [twice] = [part for part in parts if f'name="{field}"'.encode() in part]
    body = body.replace(twice, twice + b"\r\n--" + twice.removeprefix(b"--"), 1)

    reply = api.post(
        "/signup", auth=token("twice-tester"), data=body, headers={"Content-Type": content_type}
    )

    refused(reply, 422, "validation_error")
    assert [(d["field"], d["type"]) for d in reply.body["error"]["details"]] == [
        (field, "duplicate_key")
    ]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("path", ["/me", "/list-parties?view=invited"])
def test_a_get_with_a_body_is_refused(api: Client, host: Person, path: str) -> None:
    # It was answered 200 after reading the whole body (100 MB in the review).
    reply = api.get(path, auth=host.token, data=b"x" * 1000)
    refused(reply, 400, "body_not_allowed")
