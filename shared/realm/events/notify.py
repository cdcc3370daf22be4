"""Guest and host notifications: what an event says to whom, and the feed it is written to.

The rules: ``invite-created`` → a notification for the invited guest; ``invite-responded`` →
one for the host. A notification is the document
``users/{auth_uid}/notifications/{event_id}`` = ``{type, title, body, party_id, invite_id,
created_at, read: false}`` (DESIGN §5); ``created_at`` is when the event happened, so every
redelivery would write the very same document.

A party's changes (``party-updated``, ``party-cancelled``, ``waitlist-promoted``,
``cohost-added``, ``party-reminder``; DESIGN §11) tell many people the same thing: one event,
whose recipients were written to PostgreSQL with it, delivered in batches by
``realm.events.fanout``. Their ``invite_id`` is null: they are about the party.

The feed port has two adapters:

- ``FirestoreFeed`` (``google-cloud-firestore``): the cloud, and the Firestore emulator when
  ``FIRESTORE_EMULATOR_HOST`` is set. ``create()`` is create-if-absent: a redelivered or
  concurrently delivered event finds the document there (AlreadyExists) and that is success.
- ``LocalFeed``: local runs without the emulator; a SQLite file in the state directory with
  the same create-if-absent rule (primary key). Only ever chosen when not in the cloud.

The two invite events need nothing but Firestore; the party events read and record their
recipients in PostgreSQL (``realm.events.fanout``), never while a Firestore write is under way.
Each notification is also pushed to the recipient's devices (``realm.events.push``), which
records in PostgreSQL what it sent to which device.

An event for, or naming, someone whose account was deleted after it happened is dropped, and
what a delivery wrote while the account went is deleted again (``realm.events.erased``).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from realm import logs
from realm.config import settings
from realm.db import guard
from realm.errors import DependencyUnavailable
from realm.events import erased, fanout, inbound, push
from realm.logs import log
from realm.process import PerKey

Outcome = Literal[
    "created", "duplicate", "delivered", "malformed", "unknown_type", "too_old", "forgotten"
]
T = TypeVar("T")


@dataclass(frozen=True)
class Notification:
    type: str
    title: str
    body: str
    party_id: int
    invite_id: int | None
    created_at: datetime
    read: bool = False

    def document(self) -> dict[str, Any]:
        return asdict(self)


# -- the content rules -------------------------------------------------------------------------


class _Invite(BaseModel):
    model_config = ConfigDict(extra="ignore")
    invite_id: int
    party_id: int
    flat: str
    title: str | None = None


class _InviteCreated(_Invite):
    guest_auth_uid: str
    host_display_name: str


class _InviteResponded(_Invite):
    host_auth_uid: str
    guest_display_name: str
    response: Literal["confirmed", "declined", "waitlisted"]


def _party_name(title: str | None, flat: str) -> str:
    return f"{title} at {flat}" if title else flat


def _invite_created(event: inbound.InboundEvent) -> tuple[str, Notification]:
    data = _InviteCreated.model_validate(event.data)
    return data.guest_auth_uid, Notification(
        type=event.type,
        title="You're invited",
        body=f"{data.host_display_name} invited you to {_party_name(data.title, data.flat)}.",
        party_id=data.party_id,
        invite_id=data.invite_id,
        created_at=event.occurred_at,
    )


def _invite_responded(event: inbound.InboundEvent) -> tuple[str, Notification]:
    data = _InviteResponded.model_validate(event.data)
    if data.response == "confirmed":
        title, body = "Invite confirmed", f"{data.guest_display_name} is coming to"
    elif data.response == "waitlisted":
        title, body = "On the waitlist", f"{data.guest_display_name} is waiting for a place at"
    else:
        title, body = "Invite declined", f"{data.guest_display_name} can't make it to"
    return data.host_auth_uid, Notification(
        type=event.type,
        title=title,
        body=f"{body} {_party_name(data.title, data.flat)}.",
        party_id=data.party_id,
        invite_id=data.invite_id,
        created_at=event.occurred_at,
    )


RULES: dict[str, Callable[[inbound.InboundEvent], tuple[str, Notification]]] = {
    "invite-created": _invite_created,
    "invite-responded": _invite_responded,
}


# -- a party's changes: one notification, the same for each of the event's recipients --------


class _Party(BaseModel):
    model_config = ConfigDict(extra="ignore")
    party_id: int
    flat: str
    title: str | None = None
    first_entry: datetime


class _PartyUpdated(_Party):
    previous_flat: str
    previous_first_entry: datetime


class _ByHost(_Party):
    host_display_name: str


class _Cancelled(_Party):
    # Who cancelled it (cancel-party), or why: "host-left" when the host deleted their
    # account (realm.accounts.deletion), whose name is then no longer ours to show.
    host_display_name: str | None = None
    reason: Literal["host-left"] | None = None


def when(moment: datetime) -> str:
    """A time as the notifications write it: "Fri 3 Jan, 20:00 UTC" (the app shows the
    party's own time in the reader's zone; the text cannot know that zone)."""
    from datetime import UTC

    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b}, {utc:%H:%M} UTC"


def _note(event: inbound.InboundEvent, party: _Party, title: str, body: str) -> Notification:
    return Notification(
        type=event.type,
        title=title,
        body=body,
        party_id=party.party_id,
        invite_id=None,
        created_at=event.occurred_at,
    )


def _party_updated(event: inbound.InboundEvent) -> Notification:
    data = _PartyUpdated.model_validate(event.data)
    moved = data.first_entry != data.previous_first_entry
    relocated = data.flat != data.previous_flat
    subject = data.title or f"The party at {data.previous_flat}"
    if moved and relocated:
        return _note(
            event,
            data,
            "New time and place",
            f"{subject} is now at {data.flat}, opening {when(data.first_entry)}.",
        )
    if relocated:
        return _note(event, data, "New place", f"{subject} is now at {data.flat}.")
    return _note(
        event,
        data,
        "New time",
        f"{_party_name(data.title, data.flat)} now opens {when(data.first_entry)}.",
    )


def _party_cancelled(event: inbound.InboundEvent) -> Notification:
    data = _Cancelled.model_validate(event.data)
    party = _party_name(data.title, data.flat)
    if data.reason == "host-left":
        return _note(event, data, "Party cancelled", f"{party} is cancelled: its host left Realm.")
    if data.host_display_name is None:
        raise inbound.Unusable("party-cancelled data lacks host_display_name and a reason")
    return _note(event, data, "Party cancelled", f"{data.host_display_name} cancelled {party}.")


def _waitlist_promoted(event: inbound.InboundEvent) -> Notification:
    data = _Party.model_validate(event.data)
    return _note(
        event,
        data,
        "You're in",
        f"A place opened up: you're confirmed for {_party_name(data.title, data.flat)}.",
    )


def _cohost_added(event: inbound.InboundEvent) -> Notification:
    data = _ByHost.model_validate(event.data)
    return _note(
        event,
        data,
        "You're a co-host",
        f"{data.host_display_name} made you a co-host of {_party_name(data.title, data.flat)}.",
    )


def _party_reminder(event: inbound.InboundEvent) -> Notification:
    data = _Party.model_validate(event.data)
    return _note(
        event,
        data,
        "Party soon",
        f"{_party_name(data.title, data.flat)} opens {when(data.first_entry)}.",
    )


# Event type → its notification; the recipients are the event's rows in PostgreSQL.
FANOUT_RULES: dict[str, Callable[[inbound.InboundEvent], Notification]] = {
    "party-updated": _party_updated,
    "party-cancelled": _party_cancelled,
    "waitlist-promoted": _waitlist_promoted,
    "cohost-added": _cohost_added,
    "party-reminder": _party_reminder,
}


# Whose display name each type's text shows, by the data field holding their user id; and the
# one recipient of the types told to one person, by the field holding their uid (the others'
# recipients are rows in PostgreSQL). Deleting an account finds, by these, the notifications
# in other people's feeds that name the person (realm.accounts.deletion).
NAMED_BY: dict[str, str] = {
    "invite-created": "host_id",
    "invite-responded": "guest_id",
    "party-cancelled": "host_id",
    "cohost-added": "host_id",
}
RECIPIENT_FIELD: dict[str, str] = {
    "invite-created": "guest_auth_uid",
    "invite-responded": "host_auth_uid",
}


def _applied(rule: Callable[[inbound.InboundEvent], T], event: inbound.InboundEvent) -> T:
    """``rule(event)``; ``inbound.Unusable`` when the event's data lacks what the rule reads."""
    try:
        return rule(event)
    except ValidationError as error:
        raise inbound.unusable(error, f"{event.type} data") from None


def fanout_notification(event: inbound.InboundEvent) -> Notification:
    """The notification every recipient of a party event gets; ``inbound.Unusable`` when the
    event's data lacks what its type needs."""
    return _applied(FANOUT_RULES[event.type], event)


def notification_for(event: inbound.InboundEvent) -> tuple[str, Notification] | None:
    """(recipient auth_uid, notification) for ``event``; None for a type we do not notify.

    Raises ``inbound.Unusable`` when the event's data lacks what its type needs."""
    rule = RULES.get(event.type)
    return None if rule is None else _applied(rule, event)


# -- the feed port and its adapters ------------------------------------------------------------


class Feed(Protocol):
    name: str

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        """Creates the notification unless it exists; True if this call created it."""
        ...

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        """``add`` for each (auth_uid, notification_id, notification), in as few round trips
        as the store allows; returns how many this call created."""
        ...

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        """The user's notifications, newest first, each with its ``id``."""
        ...

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        """Marks the user's notifications ``ids`` (None: all of them) read; returns how many
        existed and were unread. Ids of no notification of theirs are not counted."""
        ...

    def delete(self, items: Sequence[tuple[str, str]]) -> None:
        """Deletes each (auth_uid, notification_id); one that is not there is not an error."""
        ...

    def erase(self, auth_uid: str, up_to: datetime) -> int:
        """Deletes the user's notifications created at or before ``up_to`` (a deleted
        account's feed: what a new account of the same uid gets later stays), and the
        feed's parent document; returns how many notifications it deleted."""
        ...


FIRESTORE_BATCH_LIMIT = 500


class FeedUnavailable(DependencyUnavailable):
    """Firestore failed or did not answer within ``REALM_FIRESTORE_TIMEOUT_SECONDS``."""

    dependency = "firestore"


class FirestoreFeed:
    """Each write is bounded: one attempt by ``REALM_FIRESTORE_TIMEOUT_SECONDS``, and retries of
    transient errors within the same time in all; then ``FeedUnavailable``, and the event
    function fails so that Pub/Sub delivers the event again later."""

    name = "firestore"

    def __init__(self, project_id: str) -> None:
        from google.cloud import firestore

        self._client = firestore.Client(project=project_id)
        self._timeout = settings.bounds.firestore_seconds
        self._retry = _retry(self._timeout)

    def _collection(self, auth_uid: str) -> Any:
        return self._client.collection("users").document(auth_uid).collection("notifications")

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        from google.api_core.exceptions import AlreadyExists

        document = self._collection(auth_uid).document(notification_id)
        try:
            self._bounded(
                "firestore.create",
                lambda: document.create(
                    notification.document(), retry=self._retry, timeout=self._timeout
                ),
                expected=(AlreadyExists,),
            )
        except AlreadyExists:
            return False
        return True

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        """One atomic batch of creates (at most 500, Firestore's limit) in one round trip.

        A batch fails whole when any of its documents exists already: an earlier delivery of
        the event wrote it and stopped before recording that, or a concurrent delivery did.
        Then each is created on its own, and those that exist count as done.
        """
        from google.api_core.exceptions import AlreadyExists

        if len(items) > FIRESTORE_BATCH_LIMIT:
            raise ValueError(f"at most {FIRESTORE_BATCH_LIMIT} documents per batch")
        batch = self._client.batch()
        for auth_uid, notification_id, notification in items:
            batch.create(
                self._collection(auth_uid).document(notification_id), notification.document()
            )
        try:
            self._bounded(
                "firestore.batch",
                lambda: batch.commit(retry=self._retry, timeout=self._timeout),
                expected=(AlreadyExists,),
            )
        except AlreadyExists:
            return sum(self.add(*item) for item in items)
        return len(items)

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        from google.cloud import firestore

        query = self._collection(auth_uid).order_by(
            "created_at", direction=firestore.Query.DESCENDING
        )
        documents = self._bounded(
            "firestore.query",
            lambda: list(query.limit(limit).stream(retry=self._retry, timeout=self._timeout)),
        )
        return [{"id": doc.id, **(doc.to_dict() or {})} for doc in documents]

    def _bounded(
        self, what: str, call: Callable[[], T], expected: tuple[type[Exception], ...] = ()
    ) -> T:
        """One bounded call, holding no database connection; failures are ``FeedUnavailable``
        but for the ``expected`` answers (a document that exists already), raised as they are."""
        from google.api_core import exceptions as api

        guard.outside_call(what)
        try:
            return call()
        except expected:
            raise
        except (api.GoogleAPICallError, api.RetryError) as error:
            raise FeedUnavailable.caused_by(error) from error

    def _delete_batch(self, references: Sequence[Any]) -> None:
        batch = self._client.batch()
        for reference in references:
            batch.delete(reference)
        self._bounded(
            "firestore.batch", lambda: batch.commit(retry=self._retry, timeout=self._timeout)
        )

    def delete(self, items: Sequence[tuple[str, str]]) -> None:
        """Batched deletes, 500 a round trip (Firestore's limit per batch)."""
        references = [self._collection(uid).document(doc_id) for uid, doc_id in items]
        for start in range(0, len(references), FIRESTORE_BATCH_LIMIT):
            self._delete_batch(references[start : start + FIRESTORE_BATCH_LIMIT])

    def erase(self, auth_uid: str, up_to: datetime) -> int:
        """Pages of 500 of the user's notifications up to ``up_to`` (a single-field range:
        Firestore indexes ``created_at`` by itself), each deleted in one batch, until none
        is left; then the parent document ``users/{auth_uid}``, which nothing writes today
        but which a feed may grow."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._collection(auth_uid)
            .where(filter=FieldFilter("created_at", "<=", up_to))
            .limit(FIRESTORE_BATCH_LIMIT)
        )
        deleted = 0
        while True:
            found = self._bounded(
                "firestore.query",
                lambda: list(query.stream(retry=self._retry, timeout=self._timeout)),
            )
            if not found:
                break
            self._delete_batch([doc.reference for doc in found])
            deleted += len(found)
        parent = self._client.collection("users").document(auth_uid)
        self._bounded(
            "firestore.delete", lambda: parent.delete(retry=self._retry, timeout=self._timeout)
        )
        return deleted

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        """Batched writes of at most 500 documents (Firestore's limit per batch).

        Each update is conditional on the document being unchanged since it was read unread
        (``last_update_time``): a batch that meets a concurrent change fails as a whole and its
        documents are read again, so ``n`` counts exactly the documents this call turned from
        unread to read, and two overlapping calls never both count one.

        The whole call, every read and batch of it, shares one deadline of
        ``REALM_FIRESTORE_TIMEOUT_SECONDS``: a request, unlike an event, has a person waiting,
        and "all" may take many rounds. Past it, ``FeedUnavailable`` (503); the batches
        already committed stay read, and the app's retry marks the rest.
        """
        deadline = time.monotonic() + self._timeout
        collection = self._collection(auth_uid)
        if ids is None:
            query = collection.where(filter=_unread()).limit(MARK_READ_BATCH)
            return self._mark_until_done(
                deadline, lambda retry, timeout: list(query.stream(retry=retry, timeout=timeout))
            )
        unique = list(dict.fromkeys(ids))
        updated = 0
        for start in range(0, len(unique), MARK_READ_BATCH):
            refs = [collection.document(i) for i in unique[start : start + MARK_READ_BATCH]]
            updated += self._mark_until_done(deadline, self._unread_of(refs), once=True)
        return updated

    def _unread_of(self, refs: list[Any]) -> Callable[[Any, float], list[Any]]:
        def unread(retry: Any, timeout: float) -> list[Any]:
            found = self._client.get_all(refs, retry=retry, timeout=timeout)
            return [doc for doc in found if doc.exists and _is_unread(doc)]

        return unread

    def _within(
        self,
        deadline: float,
        what: str,
        call: Callable[[Any, float], T],
        expected: tuple[type[Exception], ...] = (),
    ) -> T:
        """``_bounded`` with what is left of ``deadline`` as the call's timeout and retries."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise FeedUnavailable(f"{what}: no time left of {self._timeout} s")
        retry = _retry(left)
        return self._bounded(what, lambda: call(retry, left), expected)

    def _mark_until_done(
        self, deadline: float, unread: Callable[[Any, float], list[Any]], once: bool = False
    ) -> int:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        updated = 0
        while True:
            found = self._within(deadline, "firestore.query", unread)
            if not found:
                return updated
            batch = self._client.batch()
            for doc in found:
                option = self._client.write_option(last_update_time=doc.update_time)
                batch.update(doc.reference, {"read": True}, option=option)
            try:
                self._within(
                    deadline,
                    "firestore.batch",
                    functools.partial(_commit, batch),
                    expected=(FailedPrecondition, NotFound),
                )
            except (FailedPrecondition, NotFound):
                continue  # changed (or deleted) meanwhile: read this batch again
            updated += len(found)
            if once:
                return updated


class LocalFeed:
    """The in-process fallback: ``<state dir>/notify.sqlite3``."""

    name = "local-file"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS notifications ("
                " auth_uid TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL,"
                " document TEXT NOT NULL, PRIMARY KEY (auth_uid, id))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        return self.add_many([(auth_uid, notification_id, notification)]) == 1

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        guard.outside_call("local-feed.add_many")  # the stand-in for Firestore keeps its rule
        rows = []
        for auth_uid, notification_id, notification in items:
            document = notification.document()
            document["created_at"] = notification.created_at.isoformat()
            rows.append((auth_uid, notification_id, document["created_at"], json.dumps(document)))
        with self._connect() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO notifications (auth_uid, id, created_at, document)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            created = conn.total_changes - before
        return created

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        guard.outside_call("local-feed.recent")
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, document FROM notifications WHERE auth_uid = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (auth_uid, limit),
            ).fetchall()
        return [{"id": row[0], **json.loads(row[1])} for row in rows]

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        guard.outside_call("local-feed.mark_read")
        unread = "auth_uid = ? AND json_extract(document, '$.read') = 0"
        with self._connect() as conn:
            if ids is None:
                cursor = conn.execute(_MARK_READ + unread, (auth_uid,))
                return int(cursor.rowcount)
            updated = 0
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), MARK_READ_BATCH):
                chunk = unique[start : start + MARK_READ_BATCH]
                cursor = conn.execute(
                    _MARK_READ + unread + f" AND id IN ({', '.join('?' * len(chunk))})",
                    (auth_uid, *chunk),
                )
                updated += int(cursor.rowcount)
        return updated

    def delete(self, items: Sequence[tuple[str, str]]) -> None:
        guard.outside_call("local-feed.delete")
        with self._connect() as conn:
            conn.executemany(_DELETE, list(items))

    def erase(self, auth_uid: str, up_to: datetime) -> int:
        guard.outside_call("local-feed.erase")
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, created_at FROM notifications WHERE auth_uid = ?", (auth_uid,)
            ).fetchall()
            # Compared as datetimes: the stored text may carry any offset.
            doomed = [(auth_uid, row[0]) for row in rows if datetime.fromisoformat(row[1]) <= up_to]
            conn.executemany(_DELETE, doomed)
        return len(doomed)


_DELETE = "DELETE FROM notifications WHERE auth_uid = ? AND id = ?"
_MARK_READ = "UPDATE notifications SET document = json_set(document, '$.read', json('true')) WHERE "
MARK_READ_BATCH = FIRESTORE_BATCH_LIMIT  # a batch of updates is a batch of writes


def _retry(seconds: float) -> Any:
    """Firestore's retries of transient errors, all of them within ``seconds``."""
    from google.api_core.retry import Retry

    return Retry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=seconds)


def _unread() -> Any:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter("read", "==", False)


def _commit(batch: Any, retry: Any, timeout: float) -> Any:
    return batch.commit(retry=retry, timeout=timeout)


def _is_unread(doc: Any) -> bool:
    return (doc.to_dict() or {}).get("read") is False


def local_feed_path() -> Path:
    return settings.state_dir / "notify.sqlite3"


def choice() -> tuple[str, str]:
    """Firestore in the cloud or when the emulator is given; else the local file."""
    emulator = os.environ.get("FIRESTORE_EMULATOR_HOST", "")
    if emulator or settings.env == "cloud":
        return ("firestore", emulator)
    return ("local-file", str(local_feed_path()))


def _make_feed(key: tuple[str, str]) -> Feed:
    if key[0] == "firestore":
        return FirestoreFeed(settings.project_id)
    return LocalFeed(Path(key[1]))


_feeds: PerKey[tuple[str, str], Feed] = PerKey(_make_feed)


def default_feed() -> Feed:
    """The process's feed, created once per configuration. (Using the fallback is said once by
    ``realm serve`` at start; each notification's log line names its feed.)"""
    return _feeds.get(choice())


# -- notify-guest ------------------------------------------------------------------------------


def _document_id(auth_uid: str) -> bool:
    """Whether Firestore can hold ``auth_uid`` as a document id (Firebase uids always can)."""
    return not ("/" in auth_uid or auth_uid in {".", ".."} or auth_uid.startswith("__"))


def _feed_and_push(
    event: inbound.InboundEvent,
    notification: Notification,
    auth_uids: Sequence[str],
    feed: Feed,
    sender: push.Sender | None,
) -> int:
    """Writes the recipients' notifications and pushes them to their devices; returns how many
    documents this call created.

    Each of the two is attempted whatever the other does, and the first failure is raised
    afterwards, so that Pub/Sub redelivers and the one that failed gets done then: a push
    failure never loses the notification, nor a feed failure the push. Both are idempotent on
    the event (create-if-absent documents; push_deliveries per device), so the one that
    succeeded is not repeated.
    """
    notification_id = str(event.event_id)
    failure: Exception | None = None
    created = 0
    try:
        created = feed.add_many([(uid, notification_id, notification) for uid in auth_uids])
    except Exception as error:
        failure = error
    try:
        content = push.PushContent.of(notification_id, notification)
        push.deliver(event.event_id, list(auth_uids), content, sender=sender)
    except Exception as error:
        failure = failure or error
    try:
        _undo_if_forgotten(event, auth_uids, feed)
    except Exception as error:
        failure = failure or error
    if failure is not None:
        raise failure
    return created


def _undo_if_forgotten(event: inbound.InboundEvent, auth_uids: Sequence[str], feed: Feed) -> None:
    """Deletes what was just written if an account it is for, or that it names, was deleted
    meanwhile (realm.events.erased: the erasure may have run between the check before the
    write and the write)."""
    named = erased.uids_in(event.data)
    gone = erased.forgotten([*auth_uids, *named], event.occurred_at)
    if not gone:
        return
    undone = auth_uids if gone & set(named) else [uid for uid in auth_uids if uid in gone]
    feed.delete([(uid, str(event.event_id)) for uid in undone])
    log.info("undid %d notification(s) about an account deleted meanwhile", len(undone))


def _fan_out(
    event: inbound.InboundEvent,
    notification: Notification,
    feed: Feed | None,
    sender: push.Sender | None,
) -> Outcome:
    """A party event: the same notification for each of its pending recipients, a batch at a
    time (realm.events.fanout records each batch once both its feed and push are done)."""
    chosen = feed or default_feed()

    def write(auth_uids: Sequence[str]) -> int:
        # An id Firestore cannot hold could never be written; it is skipped (and so marked).
        valid = [uid for uid in auth_uids if _document_id(uid)]
        return _feed_and_push(event, notification, valid, chosen, sender)

    delivery = fanout.deliver(event.event_id, write)
    log.info(
        "notifications delivered to %d recipient(s), %d created",
        delivery.recipients,
        delivery.created,
        extra={"fields": {"feed": chosen.name, "batches": delivery.batches}},
    )
    return "delivered"


def handle(
    cloud_event: Any, feed: Feed | None = None, sender: push.Sender | None = None
) -> Outcome:
    """notify-guest's work for one delivery: the notifications in the feed, and pushed to the
    recipients' devices. Returns normally (→ 2xx, acknowledged) for everything but a failure
    to write the feed or to reach FCM, which raises so that Pub/Sub retries."""
    with logs.bound(subscriber="notify-guest"):
        try:
            event = inbound.decode(cloud_event)
        except inbound.Unusable as error:
            log.warning("acknowledged an unusable event: %s", error)
            return "malformed"
        # Every line about this event, here and below, carries its id and type.
        with logs.bound(event_id=str(event.event_id), event_type=event.type):
            return _notify(event, feed, sender)


def _notify(event: inbound.InboundEvent, feed: Feed | None, sender: push.Sender | None) -> Outcome:
    if event.too_old():
        log.warning(
            "dropped an event older than %ss (%.0fs old)",
            settings.event_max_age_seconds,
            event.age_seconds(),
        )
        return "too_old"
    if erased.forgotten(erased.uids_in(event.data), event.occurred_at):
        # For, or naming, someone whose account was deleted since: never written, never sent.
        log.info("dropped an event about an account deleted since it happened")
        return "forgotten"
    try:
        if event.type in FANOUT_RULES:
            return _fan_out(event, fanout_notification(event), feed, sender)
        target = notification_for(event)
    except inbound.Unusable as error:
        log.warning("acknowledged an unusable event: %s", error)
        return "malformed"
    if target is None:
        log.warning("acknowledged an event of a type notify-guest does not handle")
        return "unknown_type"
    auth_uid, notification = target
    if not _document_id(auth_uid):
        # Not a Firestore document id: the write could never succeed, so retrying is no use.
        log.error("acknowledged an event for a user id Firestore cannot hold")
        return "malformed"
    chosen = feed or default_feed()
    created = _feed_and_push(event, notification, [auth_uid], chosen, sender)
    outcome: Outcome = "created" if created else "duplicate"
    log.info("notification %s", outcome, extra={"fields": {"feed": chosen.name}})
    return outcome
