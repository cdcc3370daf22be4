"""notify-guest's fan-out of party events: one event, one notification per recipient, exactly
once under redelivery, resumed (not restarted) after a failure part-way; against PostgreSQL with
a fake feed, and against the official Firestore emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from realm import db
from realm.config import settings
from realm.events import fanout, notify, outbox
from realm.events.notify import FirestoreFeed, Notification
from realm.events.outbox import Event, OutboxTx
from realm.events.publishing import Message, push_envelope
from realm.hosting import changes
from tests.helpers import add_party, add_user, in_hours


class RecordingFeed:
    """A feed that keeps documents in memory, and can be made to fail after some batches."""

    name = "recording"

    def __init__(self, fail_after_batches: int | None = None) -> None:
        self.documents: dict[tuple[str, str], Notification] = {}
        self.batches = 0
        self.fail_after = fail_after_batches
        self.lock = threading.Lock()

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        with self.lock:
            if (auth_uid, notification_id) in self.documents:
                return False
            self.documents[(auth_uid, notification_id)] = notification
            return True

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise ConnectionError("the feed is down")
        self.batches += 1
        return sum(self.add(*item) for item in items)

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        return []

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        raise NotImplementedError("the fan-out never marks notifications read")

    def delete(self, items: Sequence[tuple[str, str]]) -> None:
        with self.lock:
            for item in items:
                self.documents.pop(item, None)

    def erase(self, auth_uid: str, up_to: datetime) -> int:
        raise NotImplementedError("the fan-out never erases a feed")


def cancelled_party(guests: int, declined: int = 0) -> tuple[int, list[str], dict[str, Any]]:
    """A party of ``guests`` invited guests (the first ``declined`` of them declined), cancelled
    by its host; returns the party, the uids told, and the event's published message."""
    with db.transaction() as tx:
        host = add_user(tx, "fan-host", "Hana")
        party = add_party(tx, host, in_hours(24), flat="BIG")
        tx.execute(
            "INSERT INTO users (auth_uid, handle, display_name, email)"
            " SELECT 'fan-' || n, 'fan_' || n, 'Fan ' || n, 'fan-' || n || '@example.test'"
            " FROM generate_series(1, CAST(:n AS int)) n",
            n=guests,
        )
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id, status)"
            " SELECT :p, first_entry, u.id,"
            "        CASE WHEN substr(u.auth_uid, 5)::int <= :declined THEN 'declined'"
            "             ELSE 'invited' END"
            " FROM parties, users u WHERE parties.id = :p AND u.auth_uid LIKE 'fan-%'"
            "   AND u.auth_uid <> 'fan-host'",
            p=party,
            declined=declined,
        )
    with db.transaction() as plain:
        changes.cancel(OutboxTx(plain), "fan-host", party)
    with db.transaction() as tx:
        message = tx.scalar("SELECT message FROM outbox WHERE type = 'party-cancelled'")
    message = json.loads(message) if isinstance(message, str) else message
    told = [f"fan-{n}" for n in range(declined + 1, guests + 1)]
    return party, told, message


def delivery(message: dict[str, Any]) -> CloudEvent:
    envelope = push_envelope(Message.of(message["type"], message), "projects/p/subscriptions/s")
    return CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub"},
        envelope,
    )


def pending(event_id: str) -> int:
    with db.transaction() as tx:
        return int(
            tx.scalar(
                "SELECT count(*) FROM notification_recipients"
                " WHERE event_id = :e AND delivered_at IS NULL",
                e=event_id,
            )
        )


@pytest.mark.usefixtures("clean_db")
def test_one_cancellation_of_a_500_guest_party_becomes_500_notifications_and_no_more() -> None:
    party, told, message = cancelled_party(520, declined=20)
    feed = RecordingFeed()

    assert notify.handle(delivery(message), feed) == "delivered"
    assert notify.handle(delivery(message), feed) == "delivered"  # redelivered

    assert sorted(uid for uid, _ in feed.documents) == sorted(told)
    assert {nid for _, nid in feed.documents} == {message["event_id"]}
    note = next(iter(feed.documents.values()))
    assert (note.type, note.title, note.party_id) == ("party-cancelled", "Party cancelled", party)
    assert feed.batches == 2, "500 recipients in batches of 400; the redelivery wrote nothing"
    assert pending(message["event_id"]) == 0


@pytest.mark.usefixtures("clean_db")
def test_a_delivery_that_fails_part_way_resumes_where_it_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "BATCH_SIZE", 100)
    _, told, message = cancelled_party(350)
    failing = RecordingFeed(fail_after_batches=2)

    with pytest.raises(ConnectionError):
        notify.handle(delivery(message), failing)
    assert len(failing.documents) == 200
    assert pending(message["event_id"]) == 150

    resumed = RecordingFeed()
    resumed.documents = dict(failing.documents)
    notify.handle(delivery(message), resumed)

    assert sorted(uid for uid, _ in resumed.documents) == sorted(told)
    assert resumed.batches == 2, "only the 150 left: two batches of 100, not four"


@pytest.mark.usefixtures("clean_db")
def test_a_delivery_out_of_time_asks_for_redelivery_and_each_one_moves_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "BATCH_SIZE", 100)
    monkeypatch.setattr(fanout, "RUN_BUDGET_SECONDS", 1e-9)
    _, told, message = cancelled_party(250)
    feed = RecordingFeed()
    for left in (150, 50):
        with pytest.raises(fanout.Unfinished):
            notify.handle(delivery(message), feed)
        assert pending(message["event_id"]) == left
    notify.handle(delivery(message), feed)
    assert sorted(uid for uid, _ in feed.documents) == sorted(told)


@pytest.mark.usefixtures("clean_db")
def test_ten_deliveries_of_one_event_at_once_write_each_notification_once() -> None:
    _, told, message = cancelled_party(300)
    feed = RecordingFeed()
    start = threading.Barrier(10)

    def deliver(_: int) -> str:
        start.wait()
        return notify.handle(delivery(message), feed)

    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(deliver, range(10))) == {"delivered"}
    assert sorted(uid for uid, _ in feed.documents) == sorted(told)
    assert pending(message["event_id"]) == 0


@pytest.mark.usefixtures("clean_db")
def test_a_user_deleted_before_delivery_gets_nothing() -> None:
    _, told, message = cancelled_party(5)
    with db.transaction() as tx:
        tx.execute(
            "DELETE FROM invites WHERE guest_id = (SELECT id FROM users WHERE auth_uid = 'fan-3')"
        )
        tx.execute("DELETE FROM users WHERE auth_uid = 'fan-3'")
    feed = RecordingFeed()
    notify.handle(delivery(message), feed)
    assert sorted(uid for uid, _ in feed.documents) == sorted(set(told) - {"fan-3"})


@pytest.mark.usefixtures("clean_db")
def test_a_party_event_with_no_one_to_tell_is_acknowledged() -> None:
    _, told, message = cancelled_party(3, declined=3)
    assert told == []
    feed = RecordingFeed()
    assert notify.handle(delivery(message), feed) == "delivered"
    assert feed.documents == {}


@pytest.mark.usefixtures("clean_db")
def test_recipients_are_named_in_the_transaction_of_their_event() -> None:
    with db.transaction() as tx:
        user = add_user(tx, "solo")

    def a_change_that_fails() -> None:
        with db.transaction() as plain:
            tx = OutboxTx(plain)
            event: Event = outbox.add(tx, "cohost-added", {"party_id": 1})
            fanout.add_recipient_ids(tx, event, [user])
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        a_change_that_fails()
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM notification_recipients") == 0
        assert tx.scalar("SELECT count(*) FROM outbox") == 0


# -- through the official Firestore emulator -----------------------------------------------------


@pytest.fixture
def firestore_feed(firestore_emulator: Any) -> FirestoreFeed:
    from realm.devstack import emulators

    emulators.firestore_reset(firestore_emulator.host, settings.project_id)
    return FirestoreFeed(settings.project_id)


def documents(feed: FirestoreFeed, event_id: str) -> list[str]:
    return sorted(
        doc.reference.parent.parent.id
        for doc in feed._client.collection_group("notifications").stream()
        if doc.id == event_id
    )


@pytest.mark.emulators
@pytest.mark.usefixtures("clean_db")
def test_in_firestore_500_recipients_get_one_document_each_however_often_delivered(
    firestore_feed: FirestoreFeed,
) -> None:
    _, told, message = cancelled_party(500)

    notify.handle(delivery(message), firestore_feed)
    with db.transaction() as tx:  # as if the first delivery had died before recording
        tx.execute("UPDATE notification_recipients SET delivered_at = NULL")
    notify.handle(delivery(message), firestore_feed)

    assert documents(firestore_feed, message["event_id"]) == sorted(told)
    [one] = firestore_feed.recent(told[0])
    assert one["type"] == "party-cancelled"
    assert one["invite_id"] is None
    assert one["read"] is False


@pytest.mark.emulators
def test_a_firestore_batch_with_a_document_already_there_still_creates_the_others(
    firestore_feed: FirestoreFeed,
) -> None:
    note = Notification("party-reminder", "Party soon", "X opens soon.", 1, None, in_hours(0))
    assert firestore_feed.add("u-1", "e-1", note)
    assert firestore_feed.add_many([("u-1", "e-1", note), ("u-2", "e-1", note)]) == 1
    assert firestore_feed.add_many([("u-1", "e-1", note), ("u-2", "e-1", note)]) == 0
    assert [d["id"] for d in firestore_feed.recent("u-2")] == ["e-1"]
