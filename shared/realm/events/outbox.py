"""The transactional outbox: events are rows written in the same transaction as the change
they describe, so a change is never committed without its event, nor an event without its
change.

Publishing happens after commit, and never fails the request that wrote the event:
``publish_committed(events)`` runs in the request that wrote them, bounded
(``COMMIT_PUBLISH_BUDGET_SECONDS`` in all), with a single attempt per event. After a failure it
stops trying for ``BACKOFF_SECONDS``: while Pub/Sub is down, requests are not slowed down one by
one, and relay-outbox (``realm.events.relay``) catches up with what is left.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import db
from realm.events import publishing
from realm.events.publishing import Message, Publisher
from realm.logs import log

EventType = Literal[
    "invite-created",
    "invite-responded",
    "photo-uploaded",
    # A party's changes, told to its guests (DESIGN §11; realm.events.fanout).
    "party-updated",
    "party-cancelled",
    "waitlist-promoted",
    "cohost-added",
    "party-reminder",
]
# Each event type has its own topic, named as the type.
TOPICS: tuple[EventType, ...] = (
    "invite-created",
    "invite-responded",
    "photo-uploaded",
    "party-updated",
    "party-cancelled",
    "waitlist-promoted",
    "cohost-added",
    "party-reminder",
)


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    type: EventType
    occurred_at: datetime
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return self.type

    def message(self) -> dict[str, Any]:
        """The published message's data (DESIGN §5)."""
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }

    def attributes(self) -> dict[str, str]:
        return {"event_id": str(self.event_id), "type": self.type}


class OutboxTx(db.Tx):
    """A transaction that remembers the events added to it, to publish them after commit."""

    def __init__(self, tx: db.Tx) -> None:
        super().__init__(tx._conn)
        self.events: list[Event] = []


def add(tx: OutboxTx, event_type: EventType, data: dict[str, Any]) -> Event:
    """Writes an event in ``tx``; it is published once ``tx`` commits."""
    event_id = uuid.uuid4()
    occurred_at = tx.scalar("SELECT now()")
    event = Event(event_id, event_type, occurred_at, data)
    tx.execute(
        "INSERT INTO outbox (event_id, topic, type, message, occurred_at)"
        " VALUES (:id, :topic, :type, CAST(:message AS jsonb), :at)",
        id=event_id,
        topic=event.topic,
        type=event_type,
        message=json.dumps(event.message()),
        at=occurred_at,
    )
    tx.events.append(event)
    return event


@contextmanager
def transaction() -> Iterator[OutboxTx]:
    """``db.transaction()``, then a bounded, best-effort publish of the events it committed."""
    with db.transaction() as plain:
        tx = OutboxTx(plain)
        yield tx
    if tx.events:
        # The change is committed: whatever happens while publishing, the request succeeds and
        # relay-outbox publishes what is still pending.
        try:
            publish_committed(tx.events)
        except Exception:
            log.exception("publishing after commit failed; relay-outbox will publish later")


# -- publishing right after commit ----------------------------------------------------------

COMMIT_PUBLISH_BUDGET_SECONDS = 2.0
BACKOFF_SECONDS = 15.0

_backoff_until = 0.0
_backoff_lock = threading.Lock()


def record_attempts(tx: db.Tx, ids: Sequence[int], errors: Sequence[str | None]) -> tuple[int, int]:
    """Marks published rows, records failed attempts; returns (published, failed)."""
    published = [row_id for row_id, error in zip(ids, errors, strict=True) if error is None]
    failed: dict[str, list[int]] = defaultdict(list)
    for row_id, error in zip(ids, errors, strict=True):
        if error is not None:
            failed[error].append(row_id)
    if published:
        tx.execute(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1,"
            " last_attempt_at = now(), last_error = NULL"
            " WHERE id = ANY(CAST(:ids AS bigint[]))",
            ids=published,
        )
    for error, row_ids in failed.items():
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = now(), last_error = :e"
            " WHERE id = ANY(CAST(:ids AS bigint[]))",
            ids=row_ids,
            e=error,
        )
    return len(published), sum(len(row_ids) for row_ids in failed.values())


def messages(rows: Sequence[dict[str, Any]]) -> list[Message]:
    return [Message.of(row["topic"], row["message"]) for row in rows]


def backing_off() -> bool:
    return time.monotonic() < _backoff_until


def reset_backoff() -> None:
    global _backoff_until
    with _backoff_lock:
        _backoff_until = 0.0


def _back_off() -> None:
    global _backoff_until
    with _backoff_lock:
        _backoff_until = time.monotonic() + BACKOFF_SECONDS


def publish_committed(events: Sequence[Event], publisher: Publisher | None = None) -> None:
    """Publishes events whose transaction has just committed. Bounded in time; never raises:
    whatever is not published here stays pending in the outbox for the relay."""
    started = time.monotonic()
    deadline = started + COMMIT_PUBLISH_BUDGET_SECONDS
    event_ids = [str(event.event_id) for event in events]
    try:
        if backing_off():
            log.info(
                "publishing %d event(s) left to the relay: the last publish failed",
                len(events),
                extra={"fields": {"event_ids": event_ids}},
            )
            return
        publisher = publisher or publishing.default()
        with db.transaction() as tx:
            rows = tx.all(
                "SELECT id, topic, message FROM outbox"
                " WHERE event_id = ANY(CAST(:ids AS uuid[])) AND published_at IS NULL"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                ids=event_ids,
            )
            if not rows:
                return
            errors = publisher.publish(messages(rows), deadline=deadline, patient=False)
            published, failed = record_attempts(tx, [row["id"] for row in rows], errors)
        if failed:
            _back_off()
            log.warning(
                "published %d of %d event(s); the rest wait in the outbox: %s",
                published,
                len(rows),
                next(error for error in errors if error),
                extra={"fields": {"event_ids": event_ids, "publisher": publisher.name}},
            )
    except Exception as error:  # never fail the request that already committed
        _back_off()
        log.warning(
            "could not publish after commit; the events wait in the outbox: %s",
            publishing.describe_error(error),
            extra={"fields": {"event_ids": event_ids}},
        )
    finally:
        elapsed = time.monotonic() - started
        if elapsed > COMMIT_PUBLISH_BUDGET_SECONDS + 0.5:
            log.warning("publishing after commit took %.2fs", elapsed)
