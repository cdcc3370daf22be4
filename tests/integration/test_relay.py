"""The outbox relay and the publish after commit, against the real PostgreSQL (and the Pub/Sub
emulator where a test says so)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from realm import db
from realm.events import outbox, relay
from realm.events.outbox import OutboxTx
from realm.events.publishing import Message, PubSubPublisher
from realm.hosting import invites
from tests.helpers import add_party, add_user, in_hours, uid


@pytest.fixture(autouse=True)
def _fresh(clean_db: None) -> Iterator[None]:
    outbox.reset_backoff()
    yield
    outbox.reset_backoff()


def write_events(count: int, event_type: Any = "invite-created") -> list[str]:
    """``count`` pending events, committed without the publish after commit."""
    with db.transaction() as plain:
        tx = OutboxTx(plain)
        events = [
            outbox.add(tx, event_type, {"invite_id": n, "party_id": 1, "n": n})
            for n in range(count)
        ]
    return [str(event.event_id) for event in events]


def outbox_rows() -> dict[str, dict[str, Any]]:
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT event_id, published_at, attempts, last_error, last_attempt_at FROM outbox"
        )
    return {str(row["event_id"]): row for row in rows}


class Recording:
    """A publisher that accepts everything (or fails what ``fail`` says) and remembers."""

    name = "recording"

    def __init__(self, fail: Any = None, delay: float = 0.0) -> None:
        self.fail = fail or (lambda message: None)
        self.delay = delay
        self.published: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        time.sleep(self.delay)
        results = []
        for message in messages:
            error = self.fail(message)
            if error is None:
                with self._lock:
                    self.published.append((threading.get_ident(), message.attributes["event_id"]))
            results.append(error)
        return results


def test_the_relay_publishes_every_pending_event_and_marks_each_published() -> None:
    ids = write_events(1200)
    publisher = Recording()

    report = relay.run(publisher, batch_size=500)

    assert (report.published, report.failed, report.batches) == (1200, 0, 3)
    assert sorted(event_id for _, event_id in publisher.published) == sorted(ids)
    rows = outbox_rows()
    assert all(row["published_at"] is not None and row["attempts"] == 1 for row in rows.values())
    assert relay.run(publisher).published == 0, "nothing is left to publish"


def test_a_failed_publish_records_the_attempt_and_the_error_and_leaves_the_event_pending() -> None:
    ids = write_events(3)
    poisoned = ids[1]
    publisher = Recording(
        fail=lambda m: "NotFound: 404 topic" if m.attributes["event_id"] == poisoned else None
    )

    report = relay.run(publisher)
    relay.run(publisher)

    assert report.published == 2
    assert report.failed == 1
    rows = outbox_rows()
    assert rows[poisoned]["published_at"] is None
    assert rows[poisoned]["attempts"] == 2
    assert rows[poisoned]["last_error"] == "NotFound: 404 topic"
    assert rows[poisoned]["last_attempt_at"] is not None
    assert all(rows[i]["published_at"] is not None for i in ids if i != poisoned), (
        "a failing event does not hold back the ones behind it"
    )


def test_a_failed_event_is_published_by_a_later_run_once_the_broker_accepts_it() -> None:
    [event_id] = write_events(1)
    relay.run(Recording(fail=lambda m: "ServiceUnavailable: 503"))
    assert outbox_rows()[event_id]["published_at"] is None

    report = relay.run(Recording())

    assert report.published == 1
    row = outbox_rows()[event_id]
    assert row["published_at"] is not None
    assert row["attempts"] == 2
    assert row["last_error"] is None


def test_poison_events_step_aside_so_that_newer_events_still_go_out() -> None:
    poisoned = set(write_events(4))
    healthy = write_events(2)
    publisher = Recording(
        fail=lambda m: "InvalidArgument: 400" if m.attributes["event_id"] in poisoned else None
    )
    for _ in range(outbox.RETRIES_BEFORE_BACKOFF):
        relay.run(publisher, batch_size=4)  # each run: the whole first batch fails, and stops
    assert not any(event_id in healthy for _, event_id in publisher.published)

    report = relay.run(publisher, batch_size=4)

    assert report.published == 2
    assert sorted(event_id for _, event_id in publisher.published) == sorted(healthy)
    rows = outbox_rows()
    assert all(rows[event_id]["attempts"] == outbox.RETRIES_BEFORE_BACKOFF for event_id in poisoned)


def test_publishing_after_commit_never_raises_and_leaves_failures_to_the_relay() -> None:
    class Broken:
        name = "broken"

        def publish(self, messages: Sequence[Message], **_: Any) -> list[str | None]:
            raise RuntimeError("the client library blew up")

    with db.transaction() as plain:
        tx = OutboxTx(plain)
        event = outbox.add(tx, "invite-created", {"invite_id": 1})

    outbox.publish_committed([event], publisher=Broken())  # must not raise

    assert outbox_rows()[str(event.event_id)]["published_at"] is None
    assert outbox.backing_off(), "later requests leave publishing to the relay for a while"


def test_publishing_after_commit_marks_the_events_it_published() -> None:
    with db.transaction() as plain:
        tx = OutboxTx(plain)
        events = [outbox.add(tx, "invite-created", {"invite_id": n}) for n in range(2)]
    publisher = Recording()

    outbox.publish_committed(events, publisher=publisher)

    rows = outbox_rows()
    assert all(rows[str(e.event_id)]["published_at"] is not None for e in events)
    assert relay.run(publisher).published == 0


def test_an_invite_and_its_event_commit_together_or_not_at_all() -> None:
    host_uid, guest_uid = uid("host"), uid("guest")
    with db.transaction() as tx:
        host = add_user(tx, host_uid)
        guest = add_user(tx, guest_uid)
        party = add_party(tx, host, in_hours(24))

    class Abort(Exception):
        pass

    def invite_then_fail() -> None:
        with outbox.transaction() as tx:
            invites.create(tx, host_uid, party_id=party, guest_id=guest)
            raise Abort

    with pytest.raises(Abort):
        invite_then_fail()
    assert outbox_rows() == {}

    with outbox.transaction() as tx:
        invite = invites.create(tx, host_uid, party_id=party, guest_id=guest)
    [event_id] = outbox_rows()
    with db.transaction() as tx:
        message = tx.scalar("SELECT message FROM outbox WHERE event_id = :e", e=event_id)
    assert message["type"] == "invite-created"
    assert message["data"]["invite_id"] == invite.id
    assert message["data"]["guest_auth_uid"] == guest_uid


@pytest.mark.emulators
def test_two_relays_at_once_publish_every_pending_event_once_and_mark_each(
    pubsub_emulator: Any,
) -> None:
    from google.cloud.pubsub_v1 import SubscriberClient

    from realm.config import settings

    ids = write_events(600)
    subscriber = SubscriberClient()
    subscription = subscriber.subscription_path(settings.project_id, f"t-{uuid.uuid4().hex}")
    topic = f"projects/{settings.project_id}/topics/invite-created"
    subscriber.create_subscription(name=subscription, topic=topic, ack_deadline_seconds=60)

    class Slowed(PubSubPublisher):
        """The real Pub/Sub publisher, a little slower per batch, so that the runs overlap."""

        def __init__(self) -> None:
            super().__init__(settings.project_id)
            self.threads: Counter[int] = Counter()

        def publish(
            self, messages: Sequence[Message], *, deadline: float, patient: bool
        ) -> list[str | None]:
            self.threads[threading.get_ident()] += len(messages)
            time.sleep(0.1)
            return super().publish(messages, deadline=deadline, patient=patient)

    publisher = Slowed()
    start = threading.Barrier(2)
    reports: list[relay.RelayReport] = []

    def one_relay() -> None:
        start.wait()
        reports.append(relay.run(publisher, batch_size=50))

    threads = [threading.Thread(target=one_relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(publisher.threads) == 2, "both relays published a share: they ran at once"
    assert sum(report.published for report in reports) == 600
    assert sum(report.failed for report in reports) == 0
    rows = outbox_rows()
    assert all(row["published_at"] is not None and row["attempts"] == 1 for row in rows.values())

    received: Counter[str] = Counter()
    deadline = time.monotonic() + 60
    try:
        while sum(received.values()) < 600 and time.monotonic() < deadline:
            response = subscriber.pull(subscription=subscription, max_messages=500, timeout=10)
            if response.received_messages:
                received.update(
                    m.message.attributes["event_id"] for m in response.received_messages
                )
                subscriber.acknowledge(
                    subscription=subscription,
                    ack_ids=[m.ack_id for m in response.received_messages],
                )
    finally:
        subscriber.delete_subscription(subscription=subscription)
    assert set(received) == set(ids), "every pending event reached Pub/Sub"
    assert max(received.values()) == 1, "no event was published twice"


def test_each_run_reports_the_age_of_the_oldest_event_still_pending() -> None:
    """What the outbox backlog alert reads (terraform/monitoring.tf, docs/operations.md)."""
    [first, _] = write_events(2)
    with db.transaction() as tx:
        tx.execute(
            "UPDATE outbox SET occurred_at = now() - interval '10 minutes' WHERE event_id = :e",
            e=uuid.UUID(first),
        )

    stuck = relay.run(Recording(fail=lambda m: "ServiceUnavailable: 503"))
    assert stuck.oldest_pending_seconds is not None
    assert 590 <= stuck.oldest_pending_seconds <= 900  # ten minutes, with slack for a slow run
    assert stuck.as_dict()["oldest_pending_seconds"] == stuck.oldest_pending_seconds

    assert relay.run(Recording()).oldest_pending_seconds is None  # the backlog is gone


# -- no transaction open while Pub/Sub is called (issue 12) --------------------------------------


def open_transactions() -> int:
    """Sessions of this database that are inside a transaction right now, this one excluded."""
    with db.reading() as tx:
        return int(
            tx.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )


class Watching(Recording):
    """Records how many transactions were open while it was publishing."""

    def __init__(self) -> None:
        super().__init__()
        self.open_while_publishing: list[int] = []

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        self.open_while_publishing.append(open_transactions())
        return super().publish(messages, deadline=deadline, patient=patient)


def test_the_relay_publishes_with_no_transaction_open() -> None:
    write_events(3)
    publisher = Watching()

    assert relay.run(publisher).published == 3

    assert publisher.open_while_publishing == [0]


def test_publishing_after_commit_holds_no_transaction_open() -> None:
    with db.transaction() as plain:
        tx = OutboxTx(plain)
        event = outbox.add(tx, "invite-created", {"invite_id": 1})
    publisher = Watching()

    outbox.publish_committed([event], publisher=publisher)

    assert publisher.open_while_publishing == [0]
    assert outbox_rows()[str(event.event_id)]["published_at"] is not None


def test_rows_claimed_by_another_publisher_are_left_alone_until_its_lease_ends() -> None:
    ids = write_events(2)
    stalled = outbox.claim(0.5)  # a relay that claimed both, then died before recording
    assert sorted(str(row["message"]["event_id"]) for row in stalled.rows) == sorted(ids)

    assert relay.run(Recording()).published == 0, "claimed rows are not published twice at once"
    time.sleep(0.6)
    assert relay.run(Recording()).published == 2, "after the lease the relay takes them over"


def test_a_late_outcome_of_a_lost_claim_cannot_undo_a_publish() -> None:
    [event_id] = write_events(1)
    first = outbox.claim(0.2)
    time.sleep(0.3)
    assert relay.run(Recording()).published == 1

    # The first claimer comes back late and reports a failure: the row stays published.
    outbox.record_attempts(first, ["TimeoutError: late"])

    row = outbox_rows()[event_id]
    assert row["published_at"] is not None
    assert row["last_error"] is None
