"""Events that tell many people: one event, its recipients in PostgreSQL, delivered in batches.

A party's change (a cancellation, a new time, a promotion from the waitlist, a reminder) is one
outbox row and one Pub/Sub message however many guests it concerns. Whoever writes the event
names its recipients in the same transaction (``add_recipients``): one row per (event, user) in
``notification_recipients``. Who is concerned is the writer's rule (declined guests are never
told; realm.hosting decides); this module only delivers.

notify-guest then works through the rows still pending (``deliver``), a batch at a time:

1. a short read: the next batch of pending recipients and their auth uids (users deleted since
   the event are gone from the join and from the table: they get nothing);
2. with the connection back in the pool, the batch's documents are written (one Firestore batch
   of creates; create-if-absent, so a document already there is simply done);
3. another short transaction marks the batch delivered.

So a delivery that fails part-way (Firestore down after 3 of 5 batches, the instance killed)
leaves the delivered batches marked, and the redelivered event starts at the first batch not
marked, not from zero; a redelivered or concurrently delivered event never writes a document
twice (step 1 skips what is marked, and step 2 is create-if-absent for what is not yet marked).
A delivery that runs out of its time budget raises ``Unfinished``: Pub/Sub delivers the event
again, and the next delivery resumes.

Push notifications (issue 10, FCM "once per (event, device)") fit in the same loop, per batch:
step 1 also reads the batch's devices that have no row yet in a ``push_deliveries (event_id,
device_id)`` table; step 2 sends to those devices (outside any transaction, bounded); step 3
inserts a ``push_deliveries`` row for every device FCM accepted, deletes the tokens it reported
UNREGISTERED, and marks a recipient delivered only once their document is written and none of
their devices is left to retry (a 429 or 5xx leaves the recipient pending, so the redelivery
tries just those devices again).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from realm import db
from realm.events.outbox import Event, OutboxTx

# Firestore takes at most 500 writes per batch; 400 leaves room and keeps each step short.
BATCH_SIZE = 400
# notify-guest's timeout is 60 s (terraform): stop starting batches well before it.
RUN_BUDGET_SECONDS = 40.0


class Unfinished(Exception):
    """The time budget ran out with recipients still pending; the redelivery resumes."""


def add_recipients(tx: OutboxTx, event: Event, select_user_ids: str, **params: object) -> int:
    """Names the recipients of ``event`` in its own transaction: the ``user_id`` column of the
    query ``select_user_ids`` (plain SQL with ``:name`` parameters). Returns how many."""
    return tx.execute(
        "INSERT INTO notification_recipients (event_id, user_id)"
        f" SELECT CAST(:event_id AS uuid), who.user_id FROM ({select_user_ids}) AS who"
        " ON CONFLICT DO NOTHING",
        event_id=str(event.event_id),
        **params,
    )


def add_recipient_ids(tx: OutboxTx, event: Event, user_ids: Sequence[int]) -> int:
    """``add_recipients`` for a list of user ids."""
    return add_recipients(
        tx,
        event,
        "SELECT unnest(CAST(:user_ids AS bigint[])) AS user_id",
        user_ids=list(user_ids),
    )


@dataclass(frozen=True)
class Recipient:
    user_id: int
    auth_uid: str


def pending(event_id: uuid.UUID, after: int, limit: int) -> list[Recipient]:
    """The next recipients of the event not yet delivered, by user id after ``after``."""
    with db.reading() as tx:
        rows = tx.all(
            "SELECT r.user_id, u.auth_uid FROM notification_recipients r"
            " JOIN users u ON u.id = r.user_id"
            " WHERE r.event_id = :event AND r.delivered_at IS NULL AND r.user_id > :after"
            " ORDER BY r.user_id LIMIT :limit",
            event=event_id,
            after=after,
            limit=limit,
        )
    return [Recipient(int(row["user_id"]), str(row["auth_uid"])) for row in rows]


def mark_delivered(event_id: uuid.UUID, user_ids: Sequence[int]) -> None:
    with db.transaction() as tx:
        tx.execute(
            "UPDATE notification_recipients SET delivered_at = now()"
            " WHERE event_id = :event AND user_id = ANY(CAST(:ids AS bigint[]))"
            " AND delivered_at IS NULL",
            event=event_id,
            ids=list(user_ids),
        )


@dataclass
class Delivery:
    recipients: int = 0
    created: int = 0
    batches: int = 0


def deliver(
    event_id: uuid.UUID,
    write: Callable[[Sequence[str]], int],
    *,
    batch_size: int | None = None,
    budget_seconds: float | None = None,
) -> Delivery:
    """Delivers the event to every recipient still pending: ``write(auth_uids)`` writes one
    batch's documents (create-if-absent) and returns how many it created. Raises what
    ``write`` raises (the batch stays pending) or ``Unfinished`` when the budget is spent."""
    batch_size = batch_size or BATCH_SIZE
    deadline = time.monotonic() + (budget_seconds or RUN_BUDGET_SECONDS)
    done = Delivery()
    after = 0
    while True:
        batch = pending(event_id, after, batch_size)
        if not batch:
            return done
        if done.batches and time.monotonic() > deadline:  # every delivery moves on a batch
            raise Unfinished(
                f"{done.recipients} recipient(s) delivered in this run; the rest on redelivery"
            )
        done.created += write([recipient.auth_uid for recipient in batch])
        mark_delivered(event_id, [recipient.user_id for recipient in batch])
        done.recipients += len(batch)
        done.batches += 1
        after = batch[-1].user_id
