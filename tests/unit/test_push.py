"""Push, without a database: the FCM message, what FCM's answers mean, the access token kept
until near expiry, the push settings, and the stand-in's answers by token shape."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from realm.config import ConfigError, load
from realm.devstack.fcm import StandInFcm
from realm.events.notify import Notification
from realm.events.push import GoogleAccessToken, PushContent, classify, fcm_message

EVENT = uuid.UUID("1c8de555-5e52-4724-8dc0-0bddf469d20f")


def fcm_error(status: int, state: str, *details: dict[str, Any]) -> bytes:
    return json.dumps(
        {"error": {"code": status, "message": "m", "status": state, "details": list(details)}}
    ).encode()


def fcm_code(code: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}


BAD_FIELD = {
    "@type": "type.googleapis.com/google.rpc.BadRequest",
    "fieldViolations": [{"field": "message.data[0].value", "description": "d"}],
}


def test_the_push_carries_title_body_type_and_ids_and_nothing_else() -> None:
    note = Notification(
        "invite-created", "You're invited", "Host invited you.", 39, 7, datetime.now()
    )

    content = PushContent.of(str(EVENT), note)

    assert content == PushContent(
        str(EVENT),
        "invite-created",
        "You're invited",
        "Host invited you.",
        {"party_id": "39", "invite_id": "7"},
    )


def test_ids_a_notification_does_not_have_are_left_out() -> None:
    @dataclass
    class PartyNote:
        type: str = "party-updated"
        title: str = "t"
        body: str = "b"
        party_id: int = 39
        invite_id: int | None = None

    assert PushContent.of("n", PartyNote()).ids == {"party_id": "39"}


def test_every_platform_collapses_a_second_copy_into_the_first() -> None:
    message = fcm_message("tok", PushContent(str(EVENT), "t", "T", "B"))["message"]

    assert message["android"] == {"collapse_key": str(EVENT), "notification": {"tag": str(EVENT)}}
    assert message["apns"]["headers"] == {"apns-collapse-id": str(EVENT)}
    assert message["webpush"]["headers"] == {"Topic": EVENT.hex}


def test_a_long_notification_id_still_fits_apns_and_web_push_limits() -> None:
    message = fcm_message("tok", PushContent("r" * 100, "t", "T", "B"))["message"]

    assert len(message["apns"]["headers"]["apns-collapse-id"]) <= 64
    assert len(message["webpush"]["headers"]["Topic"]) <= 32


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b'{"name": "projects/p/messages/1"}', "sent"),
        (404, fcm_error(404, "NOT_FOUND", fcm_code("UNREGISTERED")), "unregistered"),
        (400, fcm_error(400, "INVALID_ARGUMENT", fcm_code("INVALID_ARGUMENT")), "invalid"),
        (403, fcm_error(403, "PERMISSION_DENIED", fcm_code("SENDER_ID_MISMATCH")), "invalid"),
        (400, fcm_error(400, "INVALID_ARGUMENT", BAD_FIELD), "refused"),
        (400, b"not json", "refused"),
        (429, fcm_error(429, "RESOURCE_EXHAUSTED", fcm_code("QUOTA_EXCEEDED")), "retry"),
        (503, fcm_error(503, "UNAVAILABLE", fcm_code("UNAVAILABLE")), "retry"),
        (500, fcm_error(500, "INTERNAL", fcm_code("INTERNAL")), "retry"),
        (502, b"<html>bad gateway</html>", "retry"),
        (401, fcm_error(401, "UNAUTHENTICATED", fcm_code("THIRD_PARTY_AUTH_ERROR")), "retry"),
        (403, fcm_error(403, "PERMISSION_DENIED"), "retry"),
    ],
)
def test_what_an_fcm_answer_means(status: int, body: bytes, outcome: str) -> None:
    assert classify(status, body).outcome == outcome


def test_a_429_passes_on_how_long_to_wait() -> None:
    result = classify(429, fcm_error(429, "RESOURCE_EXHAUSTED", fcm_code("QUOTA_EXCEEDED")), "30")

    assert (result.code, result.retry_after) == ("QUOTA_EXCEEDED", 30.0)


class FakeCredentials:
    """Like google-auth's: ``token`` and a naive UTC ``expiry`` set by ``refresh``."""

    def __init__(self, clock: list[datetime], lifetime: timedelta) -> None:
        self.token: str | None = None
        self.expiry: datetime | None = None
        self.clock, self.lifetime, self.calls = clock, lifetime, 0

    def refresh(self, request: Any) -> None:
        self.calls += 1
        self.token = f"access-{self.calls}"
        self.expiry = self.clock[0] + self.lifetime


def test_the_access_token_is_fetched_once_and_reused_until_near_expiry() -> None:
    now = [datetime(2030, 1, 1, 12, 0)]
    credentials = FakeCredentials(now, timedelta(hours=1))
    source = GoogleAccessToken(None, credentials, margin=300, clock=lambda: now[0])

    tokens = [source.token() for _ in range(100)]
    now[0] += timedelta(minutes=54)
    still = source.token()
    now[0] += timedelta(minutes=2)  # within five minutes of expiry
    renewed = source.token()

    assert set(tokens) == {"access-1"}
    assert still == "access-1"
    assert renewed == "access-2"
    assert credentials.calls == source.refreshes == 2


def test_after_fcm_answers_401_the_next_request_fetches_a_new_token() -> None:
    now = [datetime(2030, 1, 1, 12, 0)]
    credentials = FakeCredentials(now, timedelta(hours=1))
    source = GoogleAccessToken(None, credentials, clock=lambda: now[0])
    source.token()

    source.invalidate()

    assert source.token() == "access-2"


def test_push_settings_have_documented_defaults_and_are_validated() -> None:
    settings = load({})
    assert settings.fcm_endpoint is None, "no push in a process without the stand-in"
    assert (settings.bounds.push_connect_seconds, settings.bounds.push_read_seconds) == (3.0, 10.0)
    assert settings.push_concurrency == 16
    with pytest.raises(ConfigError, match=r"^REALM_PUSH_READ_TIMEOUT_SECONDS: "):
        load({"REALM_PUSH_READ_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(ConfigError, match=r"^REALM_PUSH_CONCURRENCY: "):
        load({"REALM_PUSH_CONCURRENCY": "0"})


CLOUD = {
    "REALM_ENV": "cloud",
    "REALM_PROJECT_ID": "realm-prod",
    "REALM_DB_INSTANCE": "realm-prod:europe-west1:realm",
    "REALM_DB_USER": "notify-guest@realm-prod.iam",
    "REALM_MEDIA_BUCKET": "realm-prod-media",
}


def test_the_cloud_pushes_to_google_and_nowhere_else() -> None:
    assert load(CLOUD).fcm_endpoint == "https://fcm.googleapis.com"
    with pytest.raises(ConfigError, match=r"^REALM_FCM_ENDPOINT: "):
        load({**CLOUD, "REALM_FCM_ENDPOINT": "http://127.0.0.1:9000"})


def test_locally_only_a_stand_in_on_loopback_is_accepted() -> None:
    assert load({"REALM_FCM_ENDPOINT": "http://127.0.0.1:9000/"}).fcm_endpoint == (
        "http://127.0.0.1:9000"
    )
    with pytest.raises(ConfigError, match=r"^REALM_FCM_ENDPOINT: "):
        load({"REALM_FCM_ENDPOINT": "https://fcm.googleapis.com"})


@pytest.fixture(scope="module")
def stand_in() -> StandInFcm:
    return StandInFcm()  # answer() is called directly: no thread needed


def send(stand_in: StandInFcm, token: str, auth: str = "Bearer x", **extra: Any) -> Any:
    message = fcm_message(token, PushContent(str(EVENT), "t", "T", "B"))
    message["message"].update(extra)
    return stand_in.answer("p", json.dumps(message).encode(), auth)


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("unregistered-1", 404, "UNREGISTERED"),
        ("invalid-1", 400, "INVALID_ARGUMENT"),
        ("mismatch-1", 403, "SENDER_ID_MISMATCH"),
        ("quota-1", 429, "QUOTA_EXCEEDED"),
        ("unavailable-1", 503, "UNAVAILABLE"),
    ],
)
def test_the_stand_in_answers_by_token_shape_in_fcms_error_shape(
    stand_in: StandInFcm, token: str, status: int, code: str
) -> None:
    answered, body = send(stand_in, token)

    assert answered == status
    assert body["error"]["code"] == status
    assert body["error"]["details"][0]["errorCode"] == code


def test_the_stand_in_sends_a_well_formed_message_and_names_it(stand_in: StandInFcm) -> None:
    status, body = send(stand_in, "phone-1")

    assert status == 200
    assert body["name"].startswith("projects/p/messages/")


def test_the_stand_in_fails_a_flaky_token_once_then_sends(stand_in: StandInFcm) -> None:
    assert [send(stand_in, "flaky-1")[0] for _ in range(3)] == [503, 200, 200]


@pytest.mark.parametrize(
    "extra",
    [
        {"bogus": 1},
        {"data": {"party_id": 39}},
        {"apns": {"headers": {"apns-collapse-id": "x" * 65}}},
    ],
)
def test_the_stand_in_refuses_a_malformed_message_as_fcm_does(
    stand_in: StandInFcm, extra: dict[str, Any]
) -> None:
    status, body = send(stand_in, "phone-1", **extra)

    assert status == 400
    assert body["error"]["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert classify(status, json.dumps(body).encode()).outcome == "refused"


def test_the_stand_in_wants_a_bearer_token(stand_in: StandInFcm) -> None:
    assert send(stand_in, "phone-1", auth="")[0] == 401
