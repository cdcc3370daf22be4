"""mark-notifications-read's feed operation on both adapters: the Firestore emulator and the
local SQLite file. Only the user's own documents, unread ones counted, unknown ids ignored."""

from __future__ import annotations

import dataclasses
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from realm.config import settings
from realm.events import notify
from realm.events.notify import MARK_READ_BATCH, Feed, FeedUnavailable, FirestoreFeed, Notification


def note(minutes_ago: int = 0) -> Notification:
    return Notification(
        "invite-created", "t", "b", 1, 2, datetime.now(UTC) - timedelta(minutes=minutes_ago)
    )


def a_feed_of(feed: Feed, count: int) -> tuple[str, list[str]]:
    auth_uid, ids = f"guest-{uuid.uuid4().hex[:8]}", []
    for n in range(count):
        ids.append(str(uuid.uuid4()))
        feed.add(auth_uid, ids[-1], note(n))
    return auth_uid, ids


def unread(feed: Feed, auth_uid: str) -> set[str]:
    return {item["id"] for item in feed.recent(auth_uid, limit=1000) if not item["read"]}


def test_marking_some_ids_read_counts_the_unread_ones_it_changed(feed: Feed) -> None:
    me, ids = a_feed_of(feed, 4)

    assert feed.mark_read(me, ids[:2]) == 2
    assert feed.mark_read(me, ids[:3]) == 1, "two were read already"
    assert unread(feed, me) == {ids[3]}


def test_unknown_and_repeated_ids_are_not_counted(feed: Feed) -> None:
    me, ids = a_feed_of(feed, 1)

    assert feed.mark_read(me, [ids[0], ids[0], str(uuid.uuid4())]) == 1


def test_only_the_callers_own_notifications_are_touched(feed: Feed) -> None:
    me, _ = a_feed_of(feed, 1)
    other, theirs = a_feed_of(feed, 2)

    assert feed.mark_read(me, theirs) == 0
    assert feed.mark_read(me, None) == 1
    assert unread(feed, other) == set(theirs)


def test_all_marks_every_unread_notification_read(feed: Feed) -> None:
    me, ids = a_feed_of(feed, 5)
    feed.mark_read(me, ids[:1])

    assert feed.mark_read(me, None) == 4
    assert feed.mark_read(me, None) == 0
    assert unread(feed, me) == set()


def test_a_redelivered_event_does_not_make_a_read_notification_unread(feed: Feed) -> None:
    me, ids = a_feed_of(feed, 1)
    feed.mark_read(me, ids)

    assert feed.add(me, ids[0], note()) is False
    assert unread(feed, me) == set()


def test_more_than_one_batch_is_marked(feed: Feed, request: pytest.FixtureRequest) -> None:
    count = MARK_READ_BATCH + 20
    me = f"guest-{uuid.uuid4().hex[:8]}"
    if isinstance(feed, FirestoreFeed):  # one batch write instead of 520 round trips
        batch = feed._client.batch()
        for n in range(count):
            batch.set(feed._collection(me).document(f"n{n:04d}"), note().document())
            if n % 400 == 399:
                batch.commit()
                batch = feed._client.batch()
        batch.commit()
    else:
        for n in range(count):
            feed.add(me, f"n{n:04d}", note())

    assert feed.mark_read(me, None) == count
    assert feed.mark_read(me, [f"n{n:04d}" for n in range(count)]) == 0


def test_overlapping_calls_never_both_count_one_notification(feed: Feed) -> None:
    me, _ = a_feed_of(feed, 30)

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: feed.mark_read(me, None), range(4)))

    assert sum(counts) == 30
    assert unread(feed, me) == set()


@pytest.fixture
def frozen_firestore(monkeypatch: pytest.MonkeyPatch) -> Iterator[FirestoreFeed]:
    """A FirestoreFeed whose Firestore accepts connections and never answers, bounded at 1 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{listener.getsockname()[1]}")
    bounds = dataclasses.replace(settings.bounds, firestore_seconds=1.0)
    monkeypatch.setattr(notify, "settings", dataclasses.replace(settings, bounds=bounds))
    yield FirestoreFeed(settings.project_id)
    listener.close()


@pytest.mark.parametrize("ids", [None, ["a", "b"]], ids=["all", "some"])
def test_a_frozen_firestore_is_feed_unavailable_within_the_bound(
    frozen_firestore: FirestoreFeed, ids: list[str] | None
) -> None:
    started = time.monotonic()
    with pytest.raises(FeedUnavailable):
        frozen_firestore.mark_read("guest-frozen", ids)
    # The bound is 1 s for the whole call; the rest is slack for a loaded machine.
    assert time.monotonic() - started < 4
