"""The transactional outbox: events are rows written in the same transaction as the change
they describe, so a change is never committed without its event, nor an event without its
change. Publishing happens after commit, and never fails the request that wrote the event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import db
from realm.logs import log

EventType = Literal["invite-created", "invite-responded", "photo-uploaded"]
# Each event type has its own topic, named as the type.
TOPICS: tuple[EventType, ...] = ("invite-created", "invite-responded", "photo-uploaded")


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
            from realm.relay import publish_committed

            publish_committed(tx.events)
        except Exception:
            log.exception("publishing after commit failed; relay-outbox will publish later")
