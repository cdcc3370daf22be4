"""``Idempotency-Key``: an app's retry of a creating POST does the work once.

The app sends a key of its choosing (a UUID) with a POST that creates something, and sends the
same key again when it retries because the answer never arrived. Within 24 hours, for the same
caller:

- the same key with the same input gets the first (successful) response back, marked
  ``Idempotent-Replayed: true``, and nothing is done again;
- the same key with other input (another operation, other fields) is ``422
  idempotency_key_reused``: a bug in the app, never silently the old answer;
- the same key while the first request is still running is ``409 idempotency_key_in_use`` with
  ``Retry-After``: concurrent duplicates run once.

How (docs/decisions/0020-idempotency-keys.md): an in-progress record, like AWS Powertools'
idempotency layer. Before the handler runs, one short transaction claims the key
(``idempotency_keys`` row, locked for ``LEASE_SECONDS``); the handler runs with no connection
held by this module; then a second short statement stores the response, or, when the handler
failed, deletes the claim so that a retry runs afresh (a failure changed nothing: every write
is one transaction). The crash window: a process that dies after the handler committed and
before the response is stored leaves the claim until its lease ends; a retry after that runs the
work a second time.

Keys are per caller (a SHA-256 of the uid, as for quotas): two users may use the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from realm import db
from realm.db import quotas
from realm.edge.refusals import HttpError
from realm.logs import log

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_HOURS = 24
# Longer than any request can take with every bound at its default (pool wait, statements,
# storage with retries): while it lasts, a duplicate is told to wait rather than run.
LEASE_SECONDS = 60
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_SWEEP_PER_CLAIM = 20


class Refused(HttpError):
    """The key cannot be used for this request; the edge answers ``status`` ``code``."""


@dataclass(frozen=True)
class Outcome:
    status: int
    body: str
    replayed: bool


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):  # file parts: name → their content's digest
        return {name: _digest(part) for name, part in sorted(value.items())}
    return value


def _digest(part: Any) -> str:
    stream = getattr(part, "stream", part)
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(64 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)  # the handler reads it next
    return digest.hexdigest()


def fingerprint(operation: Callable[..., Any], arguments: Mapping[str, Any]) -> str:
    """The operation and its *parsed* input: a retry whose JSON has other spacing or key order,
    or whose multipart form has another boundary, is the same request."""
    canonical = {name: _canonical(value) for name, value in sorted(arguments.items())}
    text = json.dumps(
        [operation.__module__, operation.__qualname__, canonical],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _claim(subject: str, key: str, print_: str) -> dict[str, Any] | None:
    """Claims the key (None), or returns the row that already has it."""
    with db.transaction() as tx:
        tx.execute(
            "DELETE FROM idempotency_keys WHERE (subject, key) IN ("
            " SELECT subject, key FROM idempotency_keys"
            " WHERE created_at < now() - make_interval(hours => :keep)"
            " ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED)",
            keep=KEEP_HOURS,
            n=_SWEEP_PER_CLAIM,
        )
        claimed = tx.scalar(
            "INSERT INTO idempotency_keys (subject, key, fingerprint, locked_until)"
            " VALUES (:s, :k, :f, now() + make_interval(secs => :lease))"
            " ON CONFLICT (subject, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
            "  locked_until = EXCLUDED.locked_until, status = NULL, response = NULL,"
            "  created_at = now()"
            # An expired key starts afresh; a claim abandoned by a crash is taken over by a
            # retry of the same request once its lease has ended.
            " WHERE idempotency_keys.created_at < now() - make_interval(hours => :keep)"
            "  OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until < now()"
            "      AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)"
            " RETURNING 1",
            s=subject,
            k=key,
            f=print_,
            lease=LEASE_SECONDS,
            keep=KEEP_HOURS,
        )
        if claimed:
            return None
        row = tx.one(
            "SELECT fingerprint, status, response FROM idempotency_keys"
            " WHERE subject = :s AND key = :k",
            s=subject,
            k=key,
        )
    assert row is not None  # the conflicting row is still there: nothing deletes live keys
    return row


def _store(subject: str, key: str, print_: str, status: int, body: str) -> None:
    with db.reading() as tx:
        tx.execute(
            "UPDATE idempotency_keys SET status = :st, response = :r, locked_until = NULL"
            " WHERE subject = :s AND key = :k AND fingerprint = :f",
            st=status,
            r=body,
            s=subject,
            k=key,
            f=print_,
        )


def _release(subject: str, key: str, print_: str) -> None:
    with db.reading() as tx:
        tx.execute(
            "DELETE FROM idempotency_keys"
            " WHERE subject = :s AND key = :k AND fingerprint = :f AND status IS NULL",
            s=subject,
            k=key,
            f=print_,
        )


def once(auth_uid: str, key: str, print_: str, run: Callable[[], tuple[int, str]]) -> Outcome:
    """``run()`` (→ status, JSON body) at most once per (caller, key) with this input."""
    if not _KEY.match(key):
        raise Refused(
            400,
            "invalid_idempotency_key",
            f"{HEADER} must be 1-255 visible ASCII characters (a UUID is ideal).",
        )
    subject = quotas.subject_for(auth_uid)
    existing = _claim(subject, key, print_)
    if existing is not None:
        if existing["fingerprint"] != print_:
            raise Refused(
                422,
                "idempotency_key_reused",
                f"This {HEADER} was used for a different request; use a new key for new input.",
            )
        if existing["status"] is None:
            raise Refused(
                409,
                "idempotency_key_in_use",
                "A request with this key is still running; retry shortly.",
                headers={"Retry-After": "1"},
            )
        return Outcome(int(existing["status"]), str(existing["response"]), replayed=True)
    try:
        status, body = run()
    except BaseException:
        try:
            _release(subject, key, print_)
        except Exception as error:  # the claim then ends with its lease
            log.warning("could not release an idempotency key: %s", error)
        raise
    if 200 <= status < 300:
        try:
            _store(subject, key, print_, status, body)
        except Exception as error:
            # The work is done and the caller gets its answer; a retry within the lease is
            # told to wait, one after it runs again (the crash window, docs/decisions/0020).
            log.error("could not store an idempotent response: %s", error)
    else:
        _release(subject, key, print_)
    return Outcome(status, body, replayed=False)
