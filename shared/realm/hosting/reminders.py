"""send-reminders: each confirmed guest is reminded once when their party starts within 24 hours.

Cloud Scheduler calls it every 15 minutes (terraform/scheduler.tf); ``realm serve`` does the same
on a timer. A reminder is a row in ``reminders_sent`` (unique per party and guest) written in the
same transaction as its ``party-reminder`` event: a second run, or two runs at once, find the
rows there (the second waits on the first's uncommitted rows, then skips them) and send nothing
again. One event per party and run, told to the guests it newly reminds (realm.events.fanout).
A guest who confirms after the reminder went out gets theirs on the next run; moving the party
clears its rows, so its guests are reminded of the new time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from realm import db
from realm.events import fanout, outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity

# Parties whose first entry is within this many hours, and not yet passed.
AHEAD_HOURS = 24
RUN_BUDGET_SECONDS = 60.0  # the scheduler calls every 15 minutes

_STARTING = """
    cancelled_at IS NULL
    AND first_entry > now()
    AND first_entry <= now() + make_interval(hours => :ahead)
"""


@dataclass
class Report:
    parties: int = 0
    reminded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"parties": self.parties, "reminded": self.reminded, "seconds": self.seconds}


def remind(tx: OutboxTx, party_id: int) -> list[int]:
    """Reminds the party's confirmed guests not reminded yet; returns their ids."""
    # FOR SHARE (realm.hosting.capacity): a cancellation or a move in flight is waited for, and
    # the party then checked again as it is; and update-party, which clears the reminders of a
    # moved party, waits for these rows to be committed before it clears them.
    party = tx.one(
        "SELECT id, flat, title, first_entry FROM parties"
        f" WHERE id = :party AND {_STARTING} FOR SHARE",
        party=party_id,
        ahead=AHEAD_HOURS,
    )
    if party is None:
        return []
    guests = [
        int(row["guest_id"])
        for row in tx.all(
            "INSERT INTO reminders_sent (party_id, guest_id)"
            " SELECT party_id, guest_id FROM invites"
            " WHERE party_id = :party AND status = 'confirmed'"
            " ON CONFLICT DO NOTHING RETURNING guest_id",
            party=party_id,
        )
    ]
    if guests:
        event = outbox.add(tx, "party-reminder", capacity.about(party))
        fanout.add_recipient_ids(tx, event, guests)
    return guests


def run(budget_seconds: float = RUN_BUDGET_SECONDS) -> Report:
    """One pass over the parties starting soon, each in its own short transaction."""
    started = time.monotonic()
    report = Report()
    with db.reading() as tx:
        party_ids = [
            int(row["id"])
            for row in tx.all(
                f"SELECT id FROM parties WHERE {_STARTING} ORDER BY first_entry, id",
                ahead=AHEAD_HOURS,
            )
        ]
    for party_id in party_ids:
        if time.monotonic() - started > budget_seconds:
            break  # the next run, 15 minutes later, goes on
        with outbox.transaction() as tx:
            reminded = remind(tx, party_id)
        if reminded:
            report.parties += 1
            report.reminded += len(reminded)
    report.seconds = round(time.monotonic() - started, 3)
    return report
