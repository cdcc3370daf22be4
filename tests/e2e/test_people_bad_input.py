"""Bad input to the people functions (issue 9): the right 4xx with the API's error body, and
nothing changed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from realm import db
from tests.e2e.people_flows import Member
from tests.e2e.test_bad_input import refused
from tests.helpers import Client, in_hours, token, uid

TABLES = ("users", "user_search_terms", "parties", "invites", "invite_links", "blocks", "outbox")


def _state() -> dict[str, Any]:
    with db.transaction() as tx:
        state: dict[str, Any] = {
            table: int(tx.scalar(f"SELECT count(*) FROM {table}")) for table in TABLES
        }
        state["profiles"] = tx.scalar(
            "SELECT md5(string_agg(concat_ws('|', handle, display_name, phone,"
            " discoverable_by_phone), ',' ORDER BY id)) FROM users"
        )
        state["quota_spent"] = tx.scalar("SELECT COALESCE(sum(amount), 0) FROM quota_spends")
    return state


@pytest.fixture
def host(api: Client) -> Member:
    return Member(api, "Host")


@pytest.fixture
def party(host: Member) -> int:
    return host.create_party(in_hours(24))


@pytest.fixture
def link(host: Member, party: int) -> dict[str, Any]:
    reply = host.create_link(party, max_uses=1)
    assert reply.status == 201
    return dict(reply.body)


@pytest.fixture
def guest(api: Client) -> Member:
    return Member(api, "Guest")


@pytest.fixture
def unchanged(host: Member, party: int, link: dict[str, Any], guest: Member) -> Iterator[None]:
    before = _state()
    yield
    assert _state() == before, "a refused request changed the database"


N = "+4915112345678"
# path -> body -> the field the 422 names (None: the body as a whole)
CASES: dict[str, tuple[str, Callable[[int, int], Any], str | None]] = {
    "profile_an_unknown_field": ("/update-profile", lambda p, h: {"colour": "red"}, "colour"),
    "profile_a_name_of_the_wrong_type": (
        "/update-profile",
        lambda p, h: {"display_name": 7},
        "display_name",
    ),
    "profile_a_null_name": ("/update-profile", lambda p, h: {"display_name": None}, "display_name"),
    "profile_a_blank_name": (
        "/update-profile",
        lambda p, h: {"display_name": "  "},
        "display_name",
    ),
    "profile_a_name_of_81": (
        "/update-profile",
        lambda p, h: {"display_name": "n" * 81},
        "display_name",
    ),
    "profile_a_handle_with_a_space": (
        "/update-profile",
        lambda p, h: {"handle": "zoe m"},
        "handle",
    ),
    "profile_a_handle_with_an_emoji": (
        "/update-profile",
        lambda p, h: {"handle": "zoe🎉"},
        "handle",
    ),
    "profile_a_handle_of_500": ("/update-profile", lambda p, h: {"handle": "z" * 500}, "handle"),
    "profile_a_handle_of_dots": ("/update-profile", lambda p, h: {"handle": "..."}, "handle"),
    "profile_a_null_handle": ("/update-profile", lambda p, h: {"handle": None}, "handle"),
    "profile_a_national_phone": (
        "/update-profile",
        lambda p, h: {"phone": "0151 1234567"},
        "phone",
    ),
    "profile_a_phone_of_letters": (
        "/update-profile",
        lambda p, h: {"phone": "+49 CALL ME"},
        "phone",
    ),
    "profile_a_phone_too_long": (
        "/update-profile",
        lambda p, h: {"phone": "+1" + "2" * 15},
        "phone",
    ),
    "profile_a_number_as_phone": (
        "/update-profile",
        lambda p, h: {"phone": 4915112345678},
        "phone",
    ),
    "profile_discoverable_as_a_string": (
        "/update-profile",
        lambda p, h: {"discoverable_by_phone": "yes"},
        "discoverable_by_phone",
    ),
    "profile_discoverable_null": (
        "/update-profile",
        lambda p, h: {"discoverable_by_phone": None},
        "discoverable_by_phone",
    ),
    "contacts_501_numbers": (
        "/match-contacts",
        lambda p, h: {"phones": [f"+49151{n:07d}" for n in range(501)]},
        "phones",
    ),
    "contacts_a_malformed_number": (
        "/match-contacts",
        lambda p, h: {"phones": [N, "12345"]},
        "phones.1",
    ),
    "contacts_a_number_that_is_a_number": (
        "/match-contacts",
        lambda p, h: {"phones": [4915112345678]},
        "phones.0",
    ),
    "contacts_not_a_list": ("/match-contacts", lambda p, h: {"phones": N}, "phones"),
    "contacts_missing": ("/match-contacts", lambda p, h: {}, "phones"),
    "invite_both_guest_id_and_handle": (
        "/create-invite",
        lambda p, h: {"party_id": p, "guest_id": h, "handle": "someone"},
        None,
    ),
    "invite_neither_guest_id_nor_handle": ("/create-invite", lambda p, h: {"party_id": p}, None),
    "invite_a_handle_with_a_space": (
        "/create-invite",
        lambda p, h: {"party_id": p, "handle": "zoe m"},
        "handle",
    ),
    "invite_a_handle_of_500": (
        "/create-invite",
        lambda p, h: {"party_id": p, "handle": "z" * 500},
        "handle",
    ),
    "link_max_uses_zero": (
        "/create-invite-link",
        lambda p, h: {"party_id": p, "max_uses": 0},
        "max_uses",
    ),
    "link_max_uses_as_a_string": (
        "/create-invite-link",
        lambda p, h: {"party_id": p, "max_uses": "3"},
        "max_uses",
    ),
    "link_expiry_without_offset": (
        "/create-invite-link",
        lambda p, h: {"party_id": p, "expires_at": "2031-01-01T10:00:00"},
        "expires_at",
    ),
    "link_party_as_a_string": (
        "/create-invite-link",
        lambda p, h: {"party_id": str(p)},
        "party_id",
    ),
    "join_a_token_that_is_a_number": ("/join-party", lambda p, h: {"token": 12345}, "token"),
    "join_a_token_that_is_a_list": ("/join-party", lambda p, h: {"token": ["a"]}, "token"),
    "join_no_token": ("/join-party", lambda p, h: {}, "token"),
    "revoke_a_link_id_as_a_string": (
        "/revoke-invite-link",
        lambda p, h: {"link_id": "1"},
        "link_id",
    ),
    "block_an_id_of_zero": ("/block-user", lambda p, h: {"user_id": 0}, "user_id"),
    "block_an_id_as_a_boolean": ("/block-user", lambda p, h: {"user_id": True}, "user_id"),
    "unblock_an_unknown_field": ("/unblock-user", lambda p, h: {"user_id": h, "why": "x"}, "why"),
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_values_are_a_422_naming_the_field(
    api: Client, host: Member, party: int, case: str
) -> None:
    path, body, field = CASES[case]

    reply = api.post(path, auth=host.token, json_body=body(party, host.id))

    refused(reply, 422, "validation_error")
    assert field in {detail["field"] for detail in reply.body["error"]["details"]}
    assert "+4915112345678" not in json.dumps(reply.body), "an error never repeats a number"


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("q=a", 422, "validation_error"),
        ("q=%20a%20", 422, "validation_error"),
        ("q=" + "a" * 51, 422, "validation_error"),
        ("", 422, "validation_error"),
        ("q=ab%00", 422, "validation_error"),
        ("q=abc&limit=0", 422, "validation_error"),
        ("q=abc&limit=51", 422, "validation_error"),
        ("q=abc&limit=ten", 422, "validation_error"),
        ("q=abc&colour=red", 422, "validation_error"),
        ("q=abc&cursor=bm90LWEtY3Vyc29y", 400, "invalid_cursor"),
        ("q=abc&cursor=" + "A" * 1001, 422, "validation_error"),
    ],
)
def test_a_bad_search_is_refused(
    api: Client, host: Member, query: str, status: int, code: str
) -> None:
    refused(api.get(f"/find-users?{query}", auth=host.token), status, code)


@pytest.mark.usefixtures("unchanged")
def test_every_wrong_token_gets_the_same_404(guest: Member, link: dict[str, Any]) -> None:
    good = link["token"]
    wrong = [
        good[:-1],
        good + "x",
        good.swapcase(),
        good[::-1],
        "",
        " ",
        "null",
        secrets.token_urlsafe(32),
        secrets.token_hex(64),
        "a" * 5000,
        "../../etc/passwd",
        "' OR 1=1 --",
        "\u0000",
        "zoë🎉",
        link["url"],
    ]
    replies = [guest.join(token) for token in wrong]

    for reply in replies:
        refused(reply, 404, "link_not_found")
    assert len({json.dumps(reply.body) for reply in replies}) == 1


@pytest.mark.usefixtures("unchanged")
def test_blocking_yourself_or_an_unknown_user_is_refused(api: Client, host: Member) -> None:
    refused(host.block(host), 422, "self_block")
    refused(host.unblock(host), 422, "self_block")
    refused(host.block(2**62), 404, "user_not_found")
    refused(host.unblock(2**62), 404, "user_not_found")


@pytest.mark.usefixtures("unchanged")
def test_a_link_that_expired_before_it_was_made_is_refused(
    api: Client, host: Member, party: int
) -> None:
    refused(host.create_link(party, expires_at="2001-01-01T00:00:00+00:00"), 422, "expires_in_past")


PEOPLE_PATHS = [
    ("POST", "/update-profile", {}),
    ("GET", "/find-users?q=abc", None),
    ("POST", "/match-contacts", {"phones": [N]}),
    ("POST", "/create-invite-link", {"party_id": 1}),
    ("POST", "/join-party", {"token": "x"}),
    ("POST", "/revoke-invite-link", {"link_id": 1}),
    ("POST", "/block-user", {"user_id": 1}),
    ("POST", "/unblock-user", {"user_id": 1}),
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("method", "path", "body"), PEOPLE_PATHS)
def test_no_token_is_a_401_and_no_sign_up_a_403(
    api: Client, method: str, path: str, body: Any
) -> None:
    refused(api.call(method, path, json_body=body), 401, "unauthenticated")
    refused(
        api.call(method, path, auth=token(uid("stranger")), json_body=body), 403, "signup_required"
    )


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("method", "path", "body"), PEOPLE_PATHS)
def test_a_wrong_method_is_a_405(
    api: Client, host: Member, method: str, path: str, body: Any
) -> None:
    wrong = "POST" if method == "GET" else "GET"

    refused(api.call(wrong, path, auth=host.token), 405, "method_not_allowed")
