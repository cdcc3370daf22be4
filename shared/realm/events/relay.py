"""relay-outbox: publishing whatever the requests left pending in the outbox.

Requests publish their own events right after commit (``outbox.publish_committed``); the relay
is the other path, and both work the same way (``realm.events.outbox``): claim pending rows for
a lease in one short statement, publish them holding no database connection, then mark each one
published or record the attempt and its error in another short transaction. The claim is what
keeps two relays (or a relay and a request) from publishing the same row at the same moment; a
crash between publish and record can still publish a row twice, which is why delivery is at
least once and every subscriber is idempotent on ``event_id``.

``run()`` is one pass over the pending rows, oldest first, in batches, until none are left or
its time budget is spent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from realm import db
from realm.config import settings
from realm.events import outbox, publishing
from realm.events.publishing import Publisher
from realm.logs import log

RUN_BUDGET_SECONDS = 45.0  # Cloud Scheduler calls every minute; a run ends before the next.


@dataclass
class RelayReport:
    published: int = 0
    failed: int = 0
    batches: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # Age of the oldest event still pending after the run, None when nothing is: the outbox
    # backlog alert (terraform/monitoring.tf) reads it from the run's log line.
    oldest_pending_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "failed": self.failed,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "oldest_pending_seconds": self.oldest_pending_seconds,
        }


def run(
    publisher: Publisher | None = None,
    *,
    batch_size: int = outbox.BATCH_SIZE,
    budget_seconds: float = RUN_BUDGET_SECONDS,
) -> RelayReport:
    """One pass of the relay over the pending outbox rows, oldest first.

    Rows another relay holds are skipped, not waited for. A row that fails stays pending
    (attempts and last_error recorded) and does not hold back the rows behind it; a batch in
    which everything failed ends the run (the broker is down: the next run retries). A row that
    has failed again and again waits longer between attempts (outbox.RETRIES_BEFORE_BACKOFF).
    """
    started = time.monotonic()
    end = started + budget_seconds
    publisher = publisher or publishing.default()
    report = RelayReport()
    after = 0
    # A batch not accepted by Pub/Sub within this is recorded as failed.
    batch_seconds = settings.bounds.relay_publish_seconds
    while time.monotonic() < end:
        claimed = outbox.claim(
            batch_seconds + outbox.LEASE_MARGIN_SECONDS,
            after=after,
            limit=batch_size,
        )
        if not claimed.rows:
            break
        after = claimed.ids[-1]
        deadline = min(end, time.monotonic() + batch_seconds)
        errors = publisher.publish(outbox.messages(claimed.rows), deadline=deadline, patient=True)
        published, failed = outbox.record_attempts(claimed, errors)
        report.batches += 1
        report.published += published
        report.failed += failed
        for error in errors:
            if error is not None and error not in report.errors and len(report.errors) < 5:
                report.errors.append(error)
        if published == 0:
            break
    report.seconds = time.monotonic() - started
    with db.reading() as tx:
        # The oldest pending row is the first of the partial index outbox_pending.
        age = tx.scalar(
            "SELECT extract(epoch FROM now() - occurred_at)::float8 FROM outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT 1"
        )
    report.oldest_pending_seconds = None if age is None else round(float(age), 1)
    if report.published or report.failed or report.oldest_pending_seconds is not None:
        log.info(
            "relay: published %d event(s), %d failed, in %.2fs",
            report.published,
            report.failed,
            report.seconds,
            extra={"fields": {"relay": report.as_dict(), "publisher": publisher.name}},
        )
    if report.published:
        outbox.reset_backoff()
    return report
