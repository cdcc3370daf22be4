"""Per-user quotas on writes, kept in PostgreSQL so that they hold across instances.

Each quota is "at most ``limit`` per ``period`` seconds", for every period, not per calendar
window: a spend is a row, and the rows of the last period are summed. ``spend`` runs in the
transaction of the write it pays for, so a write that fails (and rolls back) costs nothing, and
is two statements: one locks the subject's row for this action (concurrent spends of one subject
queue there, so no two of them can both see room for one more), the next inserts the spend only
if it fits. Over the limit it raises ``RateLimited`` with the seconds until enough of the window
has passed (the API's 429 with ``Retry-After``).

The defaults are generous: a real host never meets them; they stop scripts. ``REALM_QUOTAS``
overrides any of them (``invites=1000/3600,contacts=2000/86400``), which is how the tests reach
a limit quickly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from realm.config import settings
from realm.db.pool import Tx
from realm.errors import ConfigError, RateLimited

HOUR, DAY = 3600, 86400


@dataclass(frozen=True)
class Quota:
    action: str
    limit: int
    period_seconds: int


_DEFAULTS = (
    Quota("parties", 50, DAY),
    Quota("invites", 1000, HOUR),
    Quota("photos", 30, HOUR),
    Quota("invite_links", 100, DAY),
    Quota("signups", 5, DAY),
    # §12: the phone numbers one user may look up.
    Quota("contacts", 2000, DAY),
    # §13: the app registers its token at every start; this only stops a script.
    Quota("devices", 200, HOUR),
)


def _configured() -> dict[str, Quota]:
    quotas = {quota.action: quota for quota in _DEFAULTS}
    for action, (limit, period) in settings.quotas.items():
        if action not in quotas:
            raise ConfigError(
                f"REALM_QUOTAS: unknown quota {action!r} (known: {', '.join(sorted(quotas))})"
            )
        quotas[action] = Quota(action, limit, period)
    return quotas


QUOTAS = _configured()

# What the caller has spent of an action within its period: the window every check counts.
_SPENDS_IN_WINDOW = (
    "FROM quota_spends WHERE subject = :s AND action = :a"
    " AND spent_at > now() - make_interval(secs => :period)"
)
_WINDOW_SUM = f"SELECT COALESCE(sum(amount), 0) {_SPENDS_IN_WINDOW}"


def subject_for(auth_uid: str) -> str:
    """Who a quota counts: a hash of the uid, which outlives the account without naming it."""
    return hashlib.sha256(auth_uid.encode()).hexdigest()


def spend(tx: Tx, auth_uid: str, action: str, amount: int = 1) -> None:
    """Counts ``amount`` against the caller's ``action`` quota in ``tx``, or raises
    ``RateLimited`` (and counts nothing) when it would go over."""
    quota, subject = _quota_for(auth_uid, action, amount)
    sweep = tx.scalar(
        "INSERT INTO quota_subjects (subject, action) VALUES (:s, :a)"
        " ON CONFLICT (subject, action) DO UPDATE SET subject = EXCLUDED.subject"
        " RETURNING swept_at < now() - make_interval(secs => :period)",
        s=subject,
        a=action,
        period=quota.period_seconds,
    )
    if sweep:
        # Spends older than the period count for nothing; clear them now and then.
        tx.execute(
            "DELETE FROM quota_spends WHERE subject = :s AND action = :a"
            " AND spent_at <= now() - make_interval(secs => :period)",
            s=subject,
            a=action,
            period=quota.period_seconds,
        )
        tx.execute(
            "UPDATE quota_subjects SET swept_at = now() WHERE subject = :s AND action = :a",
            s=subject,
            a=action,
        )
    spent = tx.scalar(
        "INSERT INTO quota_spends (subject, action, amount)"
        f" SELECT :s, :a, CAST(:n AS integer) WHERE ({_WINDOW_SUM})"
        "   + CAST(:n AS integer) <= :limit"
        " RETURNING amount",
        s=subject,
        a=action,
        n=amount,
        period=quota.period_seconds,
        limit=quota.limit,
    )
    if spent is None:
        raise RateLimited(_seconds_until_room(tx, subject, quota, amount))


def check(tx: Tx, auth_uid: str, action: str, amount: int = 1) -> None:
    """Raises ``RateLimited`` if spending ``amount`` now would go over the quota, spending
    nothing: for a write that must do costly work (store a photo) before the transaction
    that spends. The spend itself still decides, in that transaction."""
    quota, subject = _quota_for(auth_uid, action, amount)
    used = tx.scalar(
        _WINDOW_SUM,
        s=subject,
        a=action,
        period=quota.period_seconds,
    )
    if int(used) + amount > quota.limit:
        raise RateLimited(_seconds_until_room(tx, subject, quota, amount))


def _quota_for(auth_uid: str, action: str, amount: int) -> tuple[Quota, str]:
    """The quota of ``action`` and whom it counts; ``RateLimited`` for an ``amount`` over its
    whole limit, which no wait would make room for."""
    quota = QUOTAS[action]
    if amount > quota.limit:
        raise RateLimited(quota.period_seconds, f"At most {quota.limit:,} at a time.")
    return quota, subject_for(auth_uid)


def _seconds_until_room(tx: Tx, subject: str, quota: Quota, amount: int) -> int:
    """When the oldest spends of the window will have expired enough to leave room."""
    wait = tx.scalar(
        "SELECT ceil(extract(epoch FROM spent_at + make_interval(secs => :period) - now()))"
        " FROM (SELECT spent_at, sum(amount) OVER (ORDER BY spent_at) AS freed,"
        "              sum(amount) OVER () AS used"
        f"       {_SPENDS_IN_WINDOW}) window_spends"
        " WHERE used - freed + :n <= :limit ORDER BY spent_at LIMIT 1",
        s=subject,
        a=quota.action,
        n=amount,
        period=quota.period_seconds,
        limit=quota.limit,
    )
    return int(wait) if wait is not None else quota.period_seconds
