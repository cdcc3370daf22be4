"""Accounts deleted since an event happened: what notify-guest must no longer write.

Deleting an account (realm.accounts.deletion) removes the person's notifications and those in
other people's feeds that name them. An event about them that is still on its way (pending
in the outbox, or in Pub/Sub, which redelivers for days after a failure) would write such a
notification again afterwards: into the deleted feed (and a new account of the same uid would
find it), or "Zoë invited you" into a guest's. Each deletion leaves an erasure row with a
SHA-256 of the uid (``account_erasures.subject``, like a quota's subject: no uid is kept) for
as long as an event may still be acted on (``REALM_EVENT_MAX_AGE_SECONDS``), and
:func:`forgotten` tells which uids of an event belong to an account deleted after it happened.

notify-guest asks before writing (nothing is written or pushed) and again after (what it wrote
meanwhile is deleted): a notification written before the deletion committed is the erasure's
to delete, one written after is caught by the check that follows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from realm import db
from realm.db import quotas


def uids_in(data: Mapping[str, Any]) -> list[str]:
    """The uids an event's data carries (each ``*_auth_uid`` field): whom it is for, whom it
    names."""
    return sorted(
        {
            value
            for key, value in data.items()
            if key.endswith("_auth_uid") and isinstance(value, str)
        }
    )


def forgotten(auth_uids: Iterable[str], since: datetime) -> set[str]:
    """The uids among ``auth_uids`` whose account was deleted at or after ``since`` (when the
    event happened): one lookup of ``account_erasures_subject``."""
    by_subject = {quotas.subject_for(uid): uid for uid in auth_uids}
    if not by_subject:
        return set()
    with db.reading() as tx:
        rows = tx.all(
            "SELECT DISTINCT subject FROM account_erasures"
            " WHERE subject = ANY(CAST(:subjects AS text[])) AND requested_at >= :since",
            subjects=list(by_subject),
            since=since,
        )
    return {by_subject[str(row["subject"])] for row in rows}
