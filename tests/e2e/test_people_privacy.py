"""No answer of a people function ever carries another user's email, or a phone number the
caller did not send in that request (DESIGN §12): every function, on its success path, with
every other user holding an email and a phone."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.e2e.people_flows import Member
from tests.helpers import Client, Reply, in_hours


@dataclass
class Cast:
    caller: Member
    host: Member
    others: list[Member]  # everyone but the caller, each with an email and a phone
    phones: dict[int, str]  # user id -> phone
    tag: str
    party: int


def _phone() -> str:
    return f"+4917{secrets.randbelow(10**9):09d}"


@pytest.fixture(scope="module")
def cast(server: str) -> Cast:
    api = Client(server)
    tag = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
    caller = Member(api, f"Caller {tag}")
    host = Member(api, f"Host {tag}")
    open_, shy, blocker = (Member(api, f"{name} {tag}") for name in ("Open", "Shy", "Blocker"))
    phones = {}
    for member, discoverable in [(host, True), (open_, True), (shy, False), (blocker, True)]:
        phones[member.id] = _phone()
        reply = member.update_profile(phone=phones[member.id], discoverable_by_phone=discoverable)
        assert reply.status == 200
    caller.update_profile(phone=_phone(), discoverable_by_phone=True)
    blocker.block(caller)
    party = host.create_party(in_hours(48), flat=f"PRIVACY{tag}")
    return Cast(caller, host, [host, open_, shy, blocker], phones, tag, party)


def _emails(cast: Cast) -> list[str]:
    return [f"{member.auth_uid}@example.test" for member in cast.others]


Call = Callable[[Cast], tuple[Reply, list[str]]]  # the reply, and the numbers the caller sent


def _find(cast: Cast) -> tuple[Reply, list[str]]:
    return cast.caller.find(cast.tag), []


def _match(cast: Cast) -> tuple[Reply, list[str]]:
    sent = [cast.phones[cast.others[1].id], cast.phones[cast.others[2].id], _phone()]
    return cast.caller.match_contacts(sent), sent


def _profile(cast: Cast) -> tuple[Reply, list[str]]:
    return cast.caller.update_profile(display_name=f"Caller {cast.tag}"), []


def _invite_by_handle(cast: Cast) -> tuple[Reply, list[str]]:
    party = cast.caller.create_party(in_hours(24))
    return cast.caller.invite_by_handle(party, cast.others[1].handle), []


def _link_and_join(cast: Cast) -> tuple[Reply, list[str]]:
    link = cast.host.create_link(cast.party)
    assert link.status == 201
    return cast.caller.join(link.body["token"]), []


def _create_link(cast: Cast) -> tuple[Reply, list[str]]:
    return cast.caller.create_link(cast.caller.create_party(in_hours(24))), []


def _revoke(cast: Cast) -> tuple[Reply, list[str]]:
    link = cast.caller.create_link(cast.caller.create_party(in_hours(24))).body
    return cast.caller.revoke_link(link["link_id"]), []


def _block(cast: Cast) -> tuple[Reply, list[str]]:
    return cast.caller.block(cast.others[3]), []


def _unblock(cast: Cast) -> tuple[Reply, list[str]]:
    return cast.caller.unblock(cast.others[3]), []


CALLS: dict[str, Call] = {
    "find-users": _find,
    "match-contacts": _match,
    "update-profile": _profile,
    "create-invite by handle": _invite_by_handle,
    "join-party": _link_and_join,
    "create-invite-link": _create_link,
    "revoke-invite-link": _revoke,
    "block-user": _block,
    "unblock-user": _unblock,
}


@pytest.mark.parametrize("function", sorted(CALLS))
def test_no_answer_carries_another_users_email_or_a_number_the_caller_did_not_send(
    cast: Cast, function: str
) -> None:
    reply, sent = CALLS[function](cast)

    assert 200 <= reply.status < 300, reply
    text = json.dumps(reply.body)
    assert not [email for email in _emails(cast) if email in text]
    assert not [phone for phone in cast.phones.values() if phone in text and phone not in sent]


def test_the_matrix_is_not_vacuous(cast: Cast) -> None:
    """The two answers that show other users show them, with the one number that was sent."""
    found = cast.caller.find(cast.tag).body["users"]
    matched = _match(cast)[0].body["users"]

    assert {user["handle"] for user in found} == {m.handle for m in cast.others[:3]}
    assert [(user["handle"], user["phone"]) for user in matched] == [
        (cast.others[1].handle, cast.phones[cast.others[1].id])
    ]
