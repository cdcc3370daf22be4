"""One interleaving of two transactions, made to happen every time rather than by luck.

``while_held`` runs one call in a transaction it keeps open, and another in a thread of its
own with its own connection; it lets the first commit only once the second has finished or is
waiting for a lock (PostgreSQL says which, in pg_stat_activity). So the second call runs
entirely inside the first one's transaction, or waits for it: the two outcomes a race can
have, told apart without a sleep. Its pool is the ``race_pool`` fixture (conftest).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from realm import db
from realm.events.outbox import OutboxTx

# How long the thread gets to finish or to start waiting: a bound with plenty of slack for a
# loaded 2-core machine; the test never waits for it unless something hangs.
WITHIN = 30.0


class Outcome:
    def __init__(self) -> None:
        self.value: Any = None
        self.error: Exception | None = None

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def while_held(
    pool: db.Pool, hold: Callable[[OutboxTx], Any], contend: Callable[[OutboxTx], Any]
) -> Outcome:
    """Runs ``hold`` in a transaction kept open while ``contend`` runs in another thread and
    transaction, until ``contend`` is done or waits for a lock; then commits ``hold`` and
    returns what ``contend`` returned or raised."""
    outcome, backend = Outcome(), threading.Event()
    pids: list[int] = []

    def run() -> None:
        try:
            with pool.transaction() as plain:
                pids.append(int(plain.scalar("SELECT pg_backend_pid()")))
                backend.set()
                outcome.value = contend(OutboxTx(plain))
        except Exception as error:
            outcome.error = error
        finally:
            backend.set()

    with pool.transaction() as held:
        hold(OutboxTx(held))
        thread = threading.Thread(target=run)
        thread.start()
        assert backend.wait(WITHIN)
        deadline = time.monotonic() + WITHIN
        while thread.is_alive() and not (pids and _waits_for_a_lock(pool, pids[0])):
            assert time.monotonic() < deadline, "neither finished nor waiting for a lock"
            time.sleep(0.01)
    thread.join(WITHIN)
    assert not thread.is_alive()
    return outcome


def _waits_for_a_lock(pool: db.Pool, pid: int) -> bool:
    with pool.transaction() as tx:
        return bool(
            tx.scalar(
                "SELECT coalesce(bool_or(wait_event_type = 'Lock'), false)"
                " FROM pg_stat_activity WHERE pid = :pid",
                pid=pid,
            )
        )
