"""The rule "never hold a database connection across a call to another service", enforced.

A request that holds a pooled connection (or an open transaction) while it waits on Cloud
Storage, Pub/Sub, Firestore, Google's keys, IAM or FCM turns that service's slowness into the
database's: the pool empties and every request waits, and open transactions hold their locks.
Issue 12 saw five stuck uploads leave ``me`` answering 503 for 96 s.

So the pool counts, per thread, the connections it has handed out and not yet taken back
(``checked_out`` / ``checked_in``), and every adapter of an outside service calls
:func:`outside_call` before it calls out, the local stand-ins included (so the tests, which use
them, catch a violation as surely as the cloud would). In ``local`` and ``test`` a violation
raises :class:`HeldAcrossOutsideCall`; in the cloud it is logged as an error and the call goes
on: a rule about our own code must not take a running service down.

Per thread, because a gen2 instance serves concurrent requests on threads of one process, each
with its own connection; a worker thread that a request starts (``SignedUrls.prefetch``) holds
nothing, so callers check before handing work to one.
"""

from __future__ import annotations

import threading

from realm.config import settings
from realm.logs import log

_local = threading.local()


class HeldAcrossOutsideCall(BaseException):
    """A call to another service was made while this thread holds a database connection.

    A BaseException, like KeyboardInterrupt: the adapters' callers catch ``Exception`` on
    purpose (a publish after commit never fails its request), and a bug must not be caught
    there as if it were an outage. It reaches the test (or the local server's log) instead.
    """


def held() -> int:
    """How many pooled connections this thread holds right now."""
    return int(getattr(_local, "held", 0))


def checked_out() -> None:
    _local.held = held() + 1


def checked_in() -> None:
    _local.held = max(0, held() - 1)


def outside_call(what: str) -> None:
    """Call before calling another service; ``what`` names the call (``storage.put``)."""
    count = held()
    if not count:
        return
    message = (
        f"{what} called while holding {count} database connection(s): read what you need,"
        " release the connection, then call out (docs/decisions/0021)"
    )
    if settings.env == "cloud":
        log.error(message, extra={"fields": {"rule": "no-connection-across-outside-call"}})
        return
    raise HeldAcrossOutsideCall(message)
