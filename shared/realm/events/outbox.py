"""The transactional outbox: events are rows written in the same transaction as the change
they describe, so a change is never committed without its event, nor an event without its
change.

Publishing happens after commit, and never fails the request that wrote the event:
``publish_committed(events)`` runs in the request that wrote them, bounded
(``REALM_PUBLISH_TIMEOUT_SECONDS`` in all), with a single attempt per event. After a failure it
stops trying for ``BACKOFF_SECONDS``: while Pub/Sub is down, requests are not slowed down one by
one, and relay-outbox (``realm.events.relay``) catches up with what is left.

Both paths publish the same way, with no database connection held while Pub/Sub is called
(docs/decisions/0022): :func:`claim` takes pending rows for a lease in one statement (``FOR
UPDATE SKIP LOCKED`` inside it, so concurrent claimers split the rows instead of waiting), the
publisher is called holding nothing, and :func:`record_attempts` records each outcome in a
second short transaction. A claimed row is skipped by every other publisher until its lease
ends, and the lease outlasts the publish's own deadline: no row is published by two publishers
at the same moment. A publisher that dies mid-publish leaves its rows claimed until the lease
ends; then the relay publishes them (again, perhaps: delivery is at least once).
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
from typing import Any, Literal, get_args

from realm import db
from realm.config import settings
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
    # An account was deleted: what is left outside PostgreSQL (realm.accounts.deletion).
    "account-deleted",
]
# Each event type has its own topic, named as the type.
TOPICS: tuple[EventType, ...] = get_args(EventType)
# The fields of an event's data that name users by id. ``add`` records them in the row's
# ``user_ids`` (indexed), so that deleting an account finds every event naming the person
# (realm.accounts.deletion); migration 0031 filled it the same way for the rows before it.
USER_ID_FIELDS = ("guest_id", "host_id", "user_id")
USER_ID_LISTS = ("guest_ids",)


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


def user_ids(data: dict[str, Any]) -> list[int]:
    """The users an event's data names by id (``USER_ID_FIELDS``, ``USER_ID_LISTS``)."""
    named = {data[name] for name in USER_ID_FIELDS if isinstance(data.get(name), int)}
    for name in USER_ID_LISTS:
        named.update(item for item in data.get(name) or () if isinstance(item, int))
    return sorted(named)


def add(
    tx: OutboxTx, event_type: EventType, data: dict[str, Any], *, at: datetime | None = None
) -> Event:
    """Writes an event in ``tx``; it is published once ``tx`` commits.

    It occurred at the transaction's ``now()``: a caller that has read it already (with the
    row it changes) passes it as ``at``, and saves the round trip that reads it here."""
    event_id = uuid.uuid4()
    occurred_at = tx.scalar("SELECT now()") if at is None else at
    event = Event(event_id, event_type, occurred_at, data)
    tx.execute(
        "INSERT INTO outbox (event_id, topic, type, message, occurred_at, user_ids)"
        " VALUES (:id, :topic, :type, CAST(:message AS jsonb), :at, CAST(:users AS bigint[]))",
        id=event_id,
        topic=event.topic,
        type=event_type,
        message=json.dumps(event.message()),
        at=occurred_at,
        users=user_ids(data),
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


# -- claiming, publishing, recording ------------------------------------------------------------

BACKOFF_SECONDS = 15.0
# A claim outlasts the publish it is for by this much, so that it cannot end while the
# publisher is still waiting for Pub/Sub's answer.
LEASE_MARGIN_SECONDS = 10.0
# The rows a claim of pending rows takes at most (relay-outbox's batch).
BATCH_SIZE = 500
# A row that keeps failing (a poison message) steps aside: after this many attempts it is
# retried only after 2, 4, 8 … seconds, at most MAX_BACKOFF_SECONDS, so that a batch of such
# rows cannot end every relay run before the healthy rows behind it are reached.
RETRIES_BEFORE_BACKOFF = 3
MAX_BACKOFF_SECONDS = 300

_backoff_until = 0.0
_backoff_lock = threading.Lock()

_CLAIM = (
    "UPDATE outbox SET claimed_by = :token,"
    " claimed_until = now() + make_interval(secs => :lease)"
    " WHERE id = ANY(ARRAY(SELECT id FROM outbox WHERE published_at IS NULL"
    "   AND (claimed_until IS NULL OR claimed_until < now()) AND {which}"
    "   ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED))"
    " RETURNING id, topic, message"
)
_PENDING_AFTER = (
    "id > :after AND (attempts < :free OR last_attempt_at < now() - make_interval(secs =>"
    " LEAST(power(2, attempts - :free + 1), :most)))"
)
_THESE_EVENTS = "event_id = ANY(CAST(:ids AS uuid[]))"


@dataclass(frozen=True)
class Claim:
    """Rows claimed by one publisher (``token``), oldest first."""

    token: uuid.UUID
    rows: list[dict[str, Any]]

    @property
    def ids(self) -> list[int]:
        return [int(row["id"]) for row in self.rows]


def claim(
    lease_seconds: float,
    *,
    event_ids: Sequence[str] | None = None,
    after: int = 0,
    limit: int = BATCH_SIZE,
) -> Claim:
    """Claims pending rows for ``lease_seconds``: the given events, or the oldest after
    ``after`` that are not backing off (a row that failed RETRIES_BEFORE_BACKOFF times waits 2,
    4, 8 … seconds, at most MAX_BACKOFF_SECONDS, between attempts). One statement, so the row
    locks last only as long as it does."""
    token = uuid.uuid4()
    params: dict[str, Any] = {"token": token, "lease": lease_seconds, "n": limit}
    if event_ids is not None:
        sql = _CLAIM.format(which=_THESE_EVENTS)
        params["ids"] = list(event_ids)
    else:
        sql = _CLAIM.format(which=_PENDING_AFTER)
        params.update(after=after, free=RETRIES_BEFORE_BACKOFF, most=MAX_BACKOFF_SECONDS)
    with db.reading() as tx:
        rows = tx.all(sql, **params)
    rows.sort(key=lambda row: int(row["id"]))
    return Claim(token, rows)


def record_attempts(claimed: Claim, errors: Sequence[str | None]) -> tuple[int, int]:
    """Marks published rows, records failed attempts and releases the claim; returns
    (published, failed). A row is marked published whoever holds it now (it *was* published);
    a failure is recorded only while the row is still ours."""
    published = [row_id for row_id, error in zip(claimed.ids, errors, strict=True) if error is None]
    failed: dict[str, list[int]] = defaultdict(list)
    for row_id, error in zip(claimed.ids, errors, strict=True):
        if error is not None:
            failed[error].append(row_id)
    with db.transaction() as tx:
        if published:
            tx.execute(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1,"
                " last_attempt_at = now(), last_error = NULL,"
                " claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ANY(CAST(:ids AS bigint[])) AND published_at IS NULL",
                ids=published,
            )
        for error, row_ids in failed.items():
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = now(),"
                " last_error = :e, claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ANY(CAST(:ids AS bigint[])) AND claimed_by = :token",
                ids=row_ids,
                e=error,
                token=claimed.token,
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
    budget = settings.bounds.publish_seconds
    started = time.monotonic()
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
        claimed = claim(budget + LEASE_MARGIN_SECONDS, event_ids=event_ids, limit=len(events))
        if not claimed.rows:
            return  # a relay has them already
        errors = publisher.publish(messages(claimed.rows), deadline=started + budget, patient=False)
        published, failed = record_attempts(claimed, errors)
        if failed:
            _back_off()
            log.warning(
                "published %d of %d event(s); the rest wait in the outbox: %s",
                published,
                len(claimed.rows),
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
        if elapsed > budget + 0.5:
            log.warning("publishing after commit took %.2fs", elapsed)
