"""firestore.rules, enforced by the Firestore emulator (started with the repository's rules):
a signed-in user reads only their own notifications; no client writes anything.

The requests are the app's: the Firestore REST API with the user's ID token (the emulator
accepts unsigned tokens). The server side (notify-guest) is not subject to rules."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from realm.config import settings
from realm.events.notify import FirestoreFeed, Notification

pytestmark = pytest.mark.emulators


def id_token(auth_uid: str) -> str:
    """An unsigned Firebase ID token, as the emulator accepts."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{settings.project_id}",
        "aud": settings.project_id,
        "sub": auth_uid,
        "user_id": auth_uid,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "firebase": {"sign_in_provider": "password", "identities": {}},
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def request(emulator: Any, method: str, path: str, auth_uid: str | None, body: Any = None) -> int:
    url = (
        f"http://{emulator.host}/v1/projects/{settings.project_id}"
        f"/databases/(default)/documents/{path}"
    )
    headers = {"Content-Type": "application/json"}
    if auth_uid is not None:
        headers["Authorization"] = f"Bearer {id_token(auth_uid)}"
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def notified(firestore_emulator: Any) -> tuple[str, str]:
    """A user with one notification, written server side as notify-guest writes it."""
    auth_uid, event_id = f"guest-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    note = Notification("invite-created", "t", "b", 1, 2, datetime.now(UTC))
    assert FirestoreFeed(settings.project_id).add(auth_uid, event_id, note)
    return auth_uid, event_id


def test_a_user_can_read_and_list_their_own_notifications(
    firestore_emulator: Any, notified: tuple[str, str]
) -> None:
    auth_uid, event_id = notified
    own = f"users/{auth_uid}/notifications"

    assert request(firestore_emulator, "GET", f"{own}/{event_id}", auth_uid) == 200
    assert request(firestore_emulator, "GET", own, auth_uid) == 200


def test_a_user_cannot_read_someone_elses_notifications(
    firestore_emulator: Any, notified: tuple[str, str]
) -> None:
    auth_uid, event_id = notified
    theirs = f"users/{auth_uid}/notifications"

    assert request(firestore_emulator, "GET", f"{theirs}/{event_id}", "someone-else") == 403
    assert request(firestore_emulator, "GET", theirs, "someone-else") == 403


def test_without_signing_in_nothing_can_be_read(
    firestore_emulator: Any, notified: tuple[str, str]
) -> None:
    auth_uid, event_id = notified

    assert (
        request(firestore_emulator, "GET", f"users/{auth_uid}/notifications/{event_id}", None)
        == 403
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "users/{uid}/notifications/{id}"),  # mark read, or rewrite
        ("PATCH", "users/{uid}/notifications/forged"),  # create one
        ("DELETE", "users/{uid}/notifications/{id}"),
        ("PATCH", "users/{uid}"),
        ("PATCH", "anything/else"),
    ],
)
def test_no_client_can_write_anything(
    firestore_emulator: Any, notified: tuple[str, str], method: str, path: str
) -> None:
    auth_uid, event_id = notified
    target = path.format(uid=auth_uid, id=event_id)
    body = {"fields": {"read": {"booleanValue": True}}} if method == "PATCH" else None

    assert request(firestore_emulator, method, target, auth_uid, body) == 403
    [note] = FirestoreFeed(settings.project_id).recent(auth_uid)
    assert note["read"] is False
