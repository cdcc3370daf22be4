"""Getting outbox rows to Pub/Sub: right after commit, and by the relay for whatever is left.

Both paths work the same way: lock the pending rows with ``FOR UPDATE SKIP LOCKED``, publish
them while holding the lock, and in the same transaction mark each one published or record
the attempt and its error. The lock is what keeps two relays (or a relay and a request) from
publishing the same row at the same moment; a crash between publish and commit can still
publish a row twice, which is why delivery is at least once and every subscriber is idempotent
on ``event_id``.

- ``publish_committed(events)`` runs in the request that wrote the events, after its commit.
  It is bounded (``COMMIT_PUBLISH_BUDGET_SECONDS`` in all), never raises, and makes a single
  attempt per event. After a failure it stops trying for ``BACKOFF_SECONDS``: while Pub/Sub is
  down, requests are not slowed down one by one, and the relay catches up.
- ``run()`` is the relay (``relay-outbox``): one pass over the pending rows, oldest first, in
  batches, until none are left or its time budget is spent.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realm import db, publishing
from realm.logs import log
from realm.publishing import Message, Publisher

if TYPE_CHECKING:
    from realm.outbox import Event

COMMIT_PUBLISH_BUDGET_SECONDS = 2.0
BACKOFF_SECONDS = 15.0
BATCH_SIZE = 500
RUN_BUDGET_SECONDS = 45.0  # Cloud Scheduler calls every minute; a run ends before the next.
BATCH_PUBLISH_SECONDS = 20.0  # a batch not accepted by then is recorded as failed
# A row that keeps failing (a poison message) steps aside: after this many attempts it is
# retried only after 2, 4, 8 … seconds, at most MAX_BACKOFF_SECONDS, so that a batch of such
# rows cannot end every run before the healthy rows behind it are reached.
RETRIES_BEFORE_BACKOFF = 3
MAX_BACKOFF_SECONDS = 300

_backoff_until = 0.0
_backoff_lock = threading.Lock()


def _record(tx: db.Tx, ids: Sequence[int], errors: Sequence[str | None]) -> tuple[int, int]:
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


def _messages(rows: Sequence[dict[str, Any]]) -> list[Message]:
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
            errors = publisher.publish(_messages(rows), deadline=deadline, patient=False)
            published, failed = _record(tx, [row["id"] for row in rows], errors)
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


@dataclass
class RelayReport:
    published: int = 0
    failed: int = 0
    batches: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "failed": self.failed,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


def run(
    publisher: Publisher | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    budget_seconds: float = RUN_BUDGET_SECONDS,
) -> RelayReport:
    """One pass of the relay over the pending outbox rows, oldest first.

    Rows another relay holds are skipped, not waited for. A row that fails stays pending
    (attempts and last_error recorded) and does not hold back the rows behind it; a batch in
    which everything failed ends the run (the broker is down: the next run retries). A row that
    has failed again and again waits longer between attempts (see RETRIES_BEFORE_BACKOFF).
    """
    started = time.monotonic()
    end = started + budget_seconds
    publisher = publisher or publishing.default()
    report = RelayReport()
    after = 0
    while time.monotonic() < end:
        with db.transaction() as tx:
            rows = tx.all(
                "SELECT id, topic, message FROM outbox"
                " WHERE published_at IS NULL AND id > :after"
                "   AND (attempts < :free OR last_attempt_at < now() - make_interval(secs =>"
                "        LEAST(power(2, attempts - :free + 1), :most)))"
                " ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED",
                after=after,
                n=batch_size,
                free=RETRIES_BEFORE_BACKOFF,
                most=MAX_BACKOFF_SECONDS,
            )
            if not rows:
                break
            after = rows[-1]["id"]
            deadline = min(end, time.monotonic() + BATCH_PUBLISH_SECONDS)
            errors = publisher.publish(_messages(rows), deadline=deadline, patient=True)
            published, failed = _record(tx, [row["id"] for row in rows], errors)
        report.batches += 1
        report.published += published
        report.failed += failed
        for error in errors:
            if error is not None and error not in report.errors and len(report.errors) < 5:
                report.errors.append(error)
        if published == 0:
            break
    report.seconds = time.monotonic() - started
    if report.published or report.failed:
        log.info(
            "relay: published %d event(s), %d failed, in %.2fs",
            report.published,
            report.failed,
            report.seconds,
            extra={"fields": {"relay": report.as_dict(), "publisher": publisher.name}},
        )
    if report.published:
        reset_backoff()
    return report
