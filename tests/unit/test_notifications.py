"""What an event says to whom, how a pushed message is decoded, and what notify-guest
acknowledges without writing anything. No emulator needed: the feed here is a fake or the
local fallback file."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from realm.config import settings
from realm.events import inbound, notify
from realm.events.notify import LocalFeed, Notification
from realm.events.publishing import Message, push_envelope


def invite_created_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "invite_id": 7,
        "party_id": 39,
        "flat": "FUTUREPARTY1",
        "title": "Rooftop",
        "first_entry": "2030-01-01T20:00:00+00:00",
        "guest_id": 20,
        "guest_auth_uid": "guest-1",
        "host_id": 14,
        "host_auth_uid": "host-3",
        "host_display_name": "Host 3",
    }
    return {**data, **overrides}


def invite_responded_data(response: str = "confirmed", **overrides: Any) -> dict[str, Any]:
    data = {
        "invite_id": 7,
        "party_id": 39,
        "flat": "FUTUREPARTY1",
        "title": None,
        "response": response,
        "guest_id": 20,
        "guest_auth_uid": "guest-1",
        "guest_display_name": "Guest 1",
        "host_id": 14,
        "host_auth_uid": "host-3",
    }
    return {**data, **overrides}


def event_message(
    event_type: str, data: dict[str, Any], occurred_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "data": data,
    }


def pushed(message: dict[str, Any]) -> CloudEvent:
    """The CloudEvent functions-framework hands the function for a push of ``message``."""
    envelope = push_envelope(Message.of(message["type"], message), "projects/p/subscriptions/s")
    return raw_push(envelope)


def raw_push(envelope: Any) -> CloudEvent:
    return CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub"},
        envelope,
    )


class FakeFeed:
    name = "fake"

    def __init__(self) -> None:
        self.documents: dict[tuple[str, str], Notification] = {}

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        if (auth_uid, notification_id) in self.documents:
            return False
        self.documents[(auth_uid, notification_id)] = notification
        return True

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        return sum(self.add(*item) for item in items)

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        return []

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        return 0

    def delete(self, items: Sequence[tuple[str, str]]) -> None:
        for item in items:
            self.documents.pop(item, None)

    def erase(self, auth_uid: str, up_to: datetime) -> int:
        mine = [key for key, note in self.documents.items() if key[0] == auth_uid]
        gone = [key for key in mine if self.documents[key].created_at <= up_to]
        self.delete(gone)
        return len(gone)


def test_an_invite_notifies_the_guest_with_the_party_and_the_host_named() -> None:
    message = event_message("invite-created", invite_created_data())
    feed = FakeFeed()

    assert notify.handle(pushed(message), feed) == "created"

    [((auth_uid, notification_id), note)] = feed.documents.items()
    assert auth_uid == "guest-1"
    assert notification_id == message["event_id"]
    assert note.document() == {
        "type": "invite-created",
        "title": "You're invited",
        "body": "Host 3 invited you to Rooftop at FUTUREPARTY1.",
        "party_id": 39,
        "invite_id": 7,
        "created_at": datetime.fromisoformat(message["occurred_at"]),
        "read": False,
    }


@pytest.mark.parametrize(
    ("response", "title", "body"),
    [
        ("confirmed", "Invite confirmed", "Guest 1 is coming to FUTUREPARTY1."),
        ("declined", "Invite declined", "Guest 1 can't make it to FUTUREPARTY1."),
    ],
)
def test_an_answer_notifies_the_host_with_the_guest_named(
    response: str, title: str, body: str
) -> None:
    message = event_message("invite-responded", invite_responded_data(response))
    recipient, note = notify.notification_for(inbound.decode(pushed(message))) or pytest.fail(
        "no notification"
    )

    assert recipient == "host-3"
    assert (note.type, note.title, note.body) == ("invite-responded", title, body)
    assert (note.party_id, note.invite_id, note.read) == (39, 7, False)


def test_the_same_event_handled_twice_is_created_once_then_a_duplicate() -> None:
    message = event_message("invite-created", invite_created_data())
    feed = FakeFeed()

    outcomes = [notify.handle(pushed(message), feed) for _ in range(3)]

    assert outcomes == ["created", "duplicate", "duplicate"]
    assert len(feed.documents) == 1


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param({"message": {"data": "%%% not base64 %%%"}}, id="data-not-base64"),
        pytest.param(
            {"message": {"data": base64.b64encode(b"{not json").decode()}}, id="data-not-json"
        ),
        pytest.param(
            {"message": {"data": base64.b64encode(b'{"type": "invite-created"}').decode()}},
            id="event-without-id-or-time",
        ),
        pytest.param({"message": {"attributes": {"type": "invite-created"}}}, id="no-data"),
        pytest.param({"subscription": "projects/p/subscriptions/s"}, id="no-message"),
        pytest.param(["a", "list"], id="not-an-object"),
    ],
)
def test_an_unusable_message_is_acknowledged_without_a_notification(envelope: Any) -> None:
    feed = FakeFeed()

    assert notify.handle(raw_push(envelope), feed) == "malformed"
    assert feed.documents == {}


def test_an_invite_event_missing_the_guest_is_acknowledged_without_a_notification() -> None:
    data = invite_created_data()
    del data["guest_auth_uid"]
    feed = FakeFeed()

    assert notify.handle(pushed(event_message("invite-created", data)), feed) == "malformed"
    assert feed.documents == {}


def test_an_event_of_an_unknown_type_is_acknowledged_without_a_notification() -> None:
    feed = FakeFeed()
    message = event_message("party-exploded", invite_created_data())

    assert notify.handle(pushed(message), feed) == "unknown_type"
    assert feed.documents == {}


def test_an_event_older_than_the_configured_age_is_dropped() -> None:
    feed = FakeFeed()
    too_old = datetime.now(UTC) - timedelta(seconds=settings.event_max_age_seconds + 60)
    just_in_time = datetime.now(UTC) - timedelta(seconds=settings.event_max_age_seconds - 60)

    old = event_message("invite-created", invite_created_data(), occurred_at=too_old)
    recent = event_message("invite-created", invite_created_data(), occurred_at=just_in_time)

    assert notify.handle(pushed(old), feed) == "too_old"
    assert notify.handle(pushed(recent), feed) == "created"
    assert [key[1] for key in feed.documents] == [recent["event_id"]]


def test_a_cloud_event_with_json_text_data_is_decoded_like_a_parsed_one() -> None:
    message = event_message("invite-created", invite_created_data())
    envelope = push_envelope(Message.of("invite-created", message), "projects/p/subscriptions/s")

    as_text = raw_push(json.dumps(envelope))

    assert inbound.decode(as_text).event_id == uuid.UUID(message["event_id"])


def note(minutes_ago: int, title: str = "t") -> Notification:
    return Notification(
        type="invite-created",
        title=title,
        body="b",
        party_id=1,
        invite_id=2,
        created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )


def test_the_local_fallback_feed_creates_once_and_lists_newest_first(tmp_path: Path) -> None:
    feed = LocalFeed(tmp_path / "notify.sqlite3")

    assert feed.add("guest-1", "a", note(10, "older")) is True
    assert feed.add("guest-1", "b", note(1, "newer")) is True
    assert feed.add("guest-1", "a", note(0, "again")) is False
    assert feed.add("guest-2", "c", note(0, "someone else's")) is True

    listed = feed.recent("guest-1")
    assert [(item["id"], item["title"], item["read"]) for item in listed] == [
        ("b", "newer", False),
        ("a", "older", False),
    ]
