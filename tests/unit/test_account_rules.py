"""The rules of deleting an account that need no service: the confirmation, which users an
event names, and what Firebase Auth's admin API answers mean."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from realm.accounts import deletion, identity
from realm.errors import ConfirmationMismatch
from realm.events import erased, outbox


def test_only_the_exact_words_confirm_a_deletion() -> None:
    deletion.check_confirmation("delete my account")
    for said in ["Delete my account", "delete my account ", "yes", ""]:
        with pytest.raises(ConfirmationMismatch):
            deletion.check_confirmation(said)


def test_an_event_records_the_users_its_data_names_by_id() -> None:
    data = {"guest_id": 20, "host_id": 14, "guest_ids": [21, 20, "x"], "party_id": 39}

    assert outbox.user_ids(data) == [14, 20, 21], "party ids and anything not an id: no"
    assert outbox.user_ids({"erasure_id": 5, "flag": True}) == []


def test_the_uids_of_an_event_are_whom_it_is_for_and_whom_it_names() -> None:
    data = {"guest_auth_uid": "g-1", "host_auth_uid": "h-1", "host_display_name": "H", "n": 1}

    assert erased.uids_in(data) == ["g-1", "h-1"]


@dataclass
class Answer:
    status: int
    data: bytes


class Http:
    """Stands in for urllib3's pool: answers what it is given, records what it is sent."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, Any, dict[str, str]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        self.sent.append((method, url, json.loads(kwargs["body"]), kwargs["headers"]))
        return self.answer


class Token:
    def __init__(self) -> None:
        self.invalidated = 0

    def token(self) -> str:
        return "t0k"

    def invalidate(self) -> None:
        self.invalidated += 1


def toolkit(status: int, body: Any) -> tuple[identity.IdentityToolkit, Http, Token]:
    token = Token()
    adapter = identity.IdentityToolkit(identity.GOOGLE, "my-project", token)
    http = Http(Answer(status, json.dumps(body).encode()))
    adapter.http = http  # type: ignore[assignment]
    return adapter, http, token


def test_deleting_a_sign_in_account_is_one_admin_call_as_the_functions_identity() -> None:
    adapter, http, _ = toolkit(200, {"kind": "identitytoolkit#DeleteAccountResponse"})

    assert adapter.delete("uid-1") is True
    [(method, url, body, headers)] = http.sent
    assert (method, url) == (
        "POST",
        "https://identitytoolkit.googleapis.com/v1/projects/my-project/accounts:delete",
    )
    assert body == {"localId": "uid-1"}
    assert headers["Authorization"] == "Bearer t0k"


def test_an_account_already_gone_is_done() -> None:
    adapter, _, _ = toolkit(400, {"error": {"code": 400, "message": "USER_NOT_FOUND"}})

    assert adapter.delete("uid-1") is False


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, {"error": {"code": 503, "message": "UNAVAILABLE"}}),
        (429, {"error": {"code": 429, "message": "QUOTA_EXCEEDED"}}),
        (403, {"error": {"code": 403, "message": "PERMISSION_DENIED"}}),
        (400, {"error": {"code": 400, "message": "INVALID_ID_TOKEN"}}),
        (502, "<html>bad gateway</html>"),
    ],
)
def test_anything_else_is_the_dependency_down_and_the_event_comes_back(
    status: int, body: Any
) -> None:
    adapter, _, _ = toolkit(status, body)

    with pytest.raises(identity.IdentityUnavailable):
        adapter.delete("uid-1")


def test_a_refused_token_is_fetched_anew_for_the_redelivery() -> None:
    adapter, _, token = toolkit(401, {"error": {"code": 401, "message": "UNAUTHENTICATED"}})

    with pytest.raises(identity.IdentityUnavailable):
        adapter.delete("uid-1")
    assert token.invalidated == 1
