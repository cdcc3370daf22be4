"""notify-guest writes the notification to the feed and pushes it to the guest's devices:
neither failing loses the other, and the redelivery completes what failed without repeating
what succeeded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from realm import db
from realm.devstack.fcm import StandInFcm
from realm.events import notify, push
from realm.events.notify import LocalFeed, Notification
from realm.events.push import FcmSender, StandInToken
from tests.helpers import add_user
from tests.unit.test_notifications import event_message, invite_created_data, pushed

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def sender(stand_in: StandInFcm) -> FcmSender:
    stand_in.clear()
    return FcmSender(stand_in.url, "realm-test", StandInToken())


class DownFeed(LocalFeed):
    """A feed whose writes fail, as Firestore's would during an outage."""

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        raise ConnectionError("Firestore is unreachable")

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        raise ConnectionError("Firestore is unreachable")


def a_guest_with(token: str) -> str:
    auth_uid = f"guest-{uuid.uuid4().hex[:8]}"
    with db.transaction() as tx:
        user_id = add_user(tx, auth_uid)
        tx.execute(
            "INSERT INTO devices (user_id, token, platform) VALUES (:u, :t, 'ios')",
            u=user_id,
            t=token,
        )
    return auth_uid


def invite_for(auth_uid: str) -> Any:
    return pushed(event_message("invite-created", invite_created_data(guest_auth_uid=auth_uid)))


def statuses(stand_in: StandInFcm, token: str) -> Sequence[int]:
    return [r.status for r in stand_in.received({token})]


def test_a_notification_is_written_and_pushed_once_however_often_it_is_delivered(
    tmp_path: Path, stand_in: StandInFcm, sender: FcmSender
) -> None:
    guest = a_guest_with(token := f"phone-{uuid.uuid4().hex}")
    feed, event = LocalFeed(tmp_path / "feed.sqlite3"), invite_for(guest)

    outcomes = [notify.handle(event, feed, sender) for _ in range(3)]

    assert outcomes == ["created", "duplicate", "duplicate"]
    assert len(feed.recent(guest)) == 1
    assert statuses(stand_in, token) == [200]


def test_a_push_failure_never_loses_the_notification_in_the_feed(
    tmp_path: Path, stand_in: StandInFcm, sender: FcmSender
) -> None:
    guest = a_guest_with(token := f"flaky-{uuid.uuid4().hex}")  # 503 the first time
    feed, event = LocalFeed(tmp_path / "feed.sqlite3"), invite_for(guest)

    with pytest.raises(push.PushRetry):
        notify.handle(event, feed, sender)
    assert len(feed.recent(guest)) == 1, "written although FCM failed"

    assert notify.handle(event, feed, sender) == "duplicate"  # Pub/Sub's redelivery
    assert statuses(stand_in, token) == [503, 200]
    assert len(feed.recent(guest)) == 1


def test_a_feed_failure_never_loses_the_push(
    tmp_path: Path, stand_in: StandInFcm, sender: FcmSender
) -> None:
    guest = a_guest_with(token := f"phone-{uuid.uuid4().hex}")
    event = invite_for(guest)

    with pytest.raises(ConnectionError):
        notify.handle(event, DownFeed(tmp_path / "down.sqlite3"), sender)
    assert statuses(stand_in, token) == [200], "pushed although the feed failed"

    feed = LocalFeed(tmp_path / "feed.sqlite3")
    assert notify.handle(event, feed, sender) == "created"  # Pub/Sub's redelivery
    assert len(feed.recent(guest)) == 1
    assert statuses(stand_in, token) == [200], "not pushed a second time"
