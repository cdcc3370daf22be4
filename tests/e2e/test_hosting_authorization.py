"""DESIGN §11's table of who may do what to a party, over HTTP: the host everything; a co-host
all but cancelling and managing co-hosts (403 not_host); a guest only to look, and at the
confirmed guests only when the host shows them (403); anyone else 404 party_not_found, exactly
as for a party that does not exist."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.flows import Person
from tests.helpers import Client, in_hours


class Cast:
    def __init__(self, api: Client) -> None:
        self.host, self.cohost = Person(api, "Host"), Person(api, "Cohost")
        self.guest, self.stranger = Person(api, "Guest"), Person(api, "Stranger")
        self.other = Person(api, "Other")
        self.party = self.host.create_party(in_hours(24))
        self.host.invite(self.party, self.guest)
        self.host.invite(self.party, self.other)
        assert (
            self.host.post("/add-cohost", party_id=self.party, user_id=self.cohost.id).status == 201
        )


@pytest.fixture
def cast(api: Client) -> Cast:
    return Cast(api)


# (who, what) -> the status they get; "what" is a call on the cast's party.
CALLS: dict[str, Any] = {
    "get-party": lambda c, p: p.party(c.party),
    "list-guests": lambda c, p: p.guests(c.party),
    "update-party": lambda c, p: p.post("/update-party", party_id=c.party, title="Mine"),
    "remove-guest": lambda c, p: p.post("/remove-guest", party_id=c.party, guest_id=c.other.id),
    "create-invite": lambda c, p: p.invite(c.party, c.stranger if p is not c.stranger else c.host),
    "add-cohost": lambda c, p: p.post("/add-cohost", party_id=c.party, user_id=c.other.id),
    "remove-cohost": lambda c, p: p.post("/remove-cohost", party_id=c.party, user_id=c.cohost.id),
    "cancel-party": lambda c, p: p.post("/cancel-party", party_id=c.party),
}
EXPECTED = {
    #                 host  cohost guest stranger
    "get-party": (200, 200, 200, 404),
    "list-guests": (200, 200, 403, 404),
    "update-party": (200, 200, 403, 404),
    "remove-guest": (200, 200, 403, 404),
    "create-invite": (201, 201, 403, 404),
    "add-cohost": (201, 403, 403, 404),
    "remove-cohost": (200, 403, 403, 404),
    "cancel-party": (200, 403, 403, 404),
}
WHO = ("host", "cohost", "guest", "stranger")


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("who", WHO)
def test_who_may_do_what_to_a_party(cast: Cast, call: str, who: str) -> None:
    reply = CALLS[call](cast, getattr(cast, who))
    expected = EXPECTED[call][WHO.index(who)]
    assert reply.status == expected, reply
    if expected == 403:
        assert reply.error_code in {"not_host", "guest_list_hidden"}
    if expected == 404:
        assert reply.error_code == "party_not_found"
        unknown = CALLS[call](_Elsewhere(cast), getattr(cast, who))
        assert (unknown.status, unknown.error_code) == (404, "party_not_found"), (
            "a stranger is told the same about a party that does not exist"
        )


class _Elsewhere:
    """The cast, pointed at a party id that does not exist."""

    def __init__(self, cast: Cast) -> None:
        self.__dict__.update(cast.__dict__)
        self.party = cast.party + 1_000_000


def test_a_guest_sees_the_confirmed_guests_once_the_host_shows_them(cast: Cast) -> None:
    cast.guest.respond(cast.party, "confirmed")
    assert (
        cast.host.post("/update-party", party_id=cast.party, guest_list_visible=True).status == 200
    )
    reply = cast.guest.guests(cast.party)
    assert reply.status == 200
    assert [g["user"]["id"] for g in reply.body["guests"]] == [cast.guest.id]
    assert cast.guest.guests(cast.party, "invited").error_code == "guest_list_hidden"
