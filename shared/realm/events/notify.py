"""Guest and host notifications: what an event says to whom, and the feed it is written to.

The rules: ``invite-created`` → a notification for the invited guest; ``invite-responded`` →
one for the host. A notification is the document
``users/{auth_uid}/notifications/{event_id}`` = ``{type, title, body, party_id, invite_id,
created_at, read: false}`` (DESIGN §5); ``created_at`` is when the event happened, so every
redelivery would write the very same document.

The feed port has two adapters:

- ``FirestoreFeed`` (``google-cloud-firestore``): the cloud, and the Firestore emulator when
  ``FIRESTORE_EMULATOR_HOST`` is set. ``create()`` is create-if-absent: a redelivered or
  concurrently delivered event finds the document there (AlreadyExists) and that is success.
- ``LocalFeed``: local runs without the emulator; a SQLite file in the state directory with
  the same create-if-absent rule (primary key). Only ever chosen when not in the cloud.

Each notification is also pushed to the recipient's devices (``realm.events.push``), which
records in PostgreSQL what it sent; the feed itself needs no database.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from realm.config import settings
from realm.events import inbound, push
from realm.logs import log
from realm.process import PerKey

Outcome = Literal["created", "duplicate", "malformed", "unknown_type", "too_old"]


@dataclass(frozen=True)
class Notification:
    type: str
    title: str
    body: str
    party_id: int
    invite_id: int
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
    response: Literal["confirmed", "declined"]


def _party_name(invite: _Invite) -> str:
    return f"{invite.title} at {invite.flat}" if invite.title else invite.flat


def _invite_created(event: inbound.InboundEvent) -> tuple[str, Notification]:
    data = _InviteCreated.model_validate(event.data)
    return data.guest_auth_uid, Notification(
        type=event.type,
        title="You're invited",
        body=f"{data.host_display_name} invited you to {_party_name(data)}.",
        party_id=data.party_id,
        invite_id=data.invite_id,
        created_at=event.occurred_at,
    )


def _invite_responded(event: inbound.InboundEvent) -> tuple[str, Notification]:
    data = _InviteResponded.model_validate(event.data)
    if data.response == "confirmed":
        title, body = "Invite confirmed", f"{data.guest_display_name} is coming to"
    else:
        title, body = "Invite declined", f"{data.guest_display_name} can't make it to"
    return data.host_auth_uid, Notification(
        type=event.type,
        title=title,
        body=f"{body} {_party_name(data)}.",
        party_id=data.party_id,
        invite_id=data.invite_id,
        created_at=event.occurred_at,
    )


RULES: dict[str, Callable[[inbound.InboundEvent], tuple[str, Notification]]] = {
    "invite-created": _invite_created,
    "invite-responded": _invite_responded,
}


def notification_for(event: inbound.InboundEvent) -> tuple[str, Notification] | None:
    """(recipient auth_uid, notification) for ``event``; None for a type we do not notify.

    Raises ``inbound.Unusable`` when the event's data lacks what its type needs."""
    rule = RULES.get(event.type)
    if rule is None:
        return None
    try:
        return rule(event)
    except ValidationError as error:
        raise inbound.unusable(error, f"{event.type} data") from None


# -- the feed port and its adapters ------------------------------------------------------------


class Feed(Protocol):
    name: str

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        """Creates the notification unless it exists; True if this call created it."""
        ...

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        """The user's notifications, newest first, each with its ``id``."""
        ...

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        """Marks the user's notifications ``ids`` (None: all of them) read; returns how many
        existed and were unread. Ids of no notification of theirs are not counted."""
        ...


class FirestoreFeed:
    name = "firestore"

    def __init__(self, project_id: str) -> None:
        from google.cloud import firestore

        self._client = firestore.Client(project=project_id)

    def _collection(self, auth_uid: str) -> Any:
        return self._client.collection("users").document(auth_uid).collection("notifications")

    def add(self, auth_uid: str, notification_id: str, notification: Notification) -> bool:
        from google.api_core.exceptions import AlreadyExists

        try:
            self._collection(auth_uid).document(notification_id).create(notification.document())
        except AlreadyExists:
            return False
        return True

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        from google.cloud import firestore

        query = self._collection(auth_uid).order_by(
            "created_at", direction=firestore.Query.DESCENDING
        )
        return [{"id": doc.id, **(doc.to_dict() or {})} for doc in query.limit(limit).stream()]

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
        """Batched writes of at most 500 documents (Firestore's limit per batch).

        Each update is conditional on the document being unchanged since it was read unread
        (``last_update_time``): a batch that meets a concurrent change fails as a whole and its
        documents are read again, so ``n`` counts exactly the documents this call turned from
        unread to read, and two overlapping calls never both count one.
        """
        collection = self._collection(auth_uid)
        if ids is None:
            query = collection.where(filter=_unread()).limit(MARK_READ_BATCH)
            return self._mark_until_done(lambda: list(query.stream()))
        unique = list(dict.fromkeys(ids))
        updated = 0
        for start in range(0, len(unique), MARK_READ_BATCH):
            refs = [collection.document(i) for i in unique[start : start + MARK_READ_BATCH]]
            updated += self._mark_until_done(functools.partial(self._unread_of, refs), once=True)
        return updated

    def _unread_of(self, refs: list[Any]) -> list[Any]:
        return [doc for doc in self._client.get_all(refs) if doc.exists and _is_unread(doc)]

    def _mark_until_done(self, unread: Callable[[], list[Any]], once: bool = False) -> int:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        updated = 0
        for _ in range(_MARK_READ_ROUNDS):
            found = unread()
            if not found:
                return updated
            batch = self._client.batch()
            for doc in found:
                option = self._client.write_option(last_update_time=doc.update_time)
                batch.update(doc.reference, {"read": True}, option=option)
            try:
                batch.commit()
            except (FailedPrecondition, NotFound):
                continue  # changed (or deleted) meanwhile: read this batch again
            updated += len(found)
            if once:
                return updated
        raise RuntimeError("notifications kept changing while being marked read")


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
        document = notification.document()
        document["created_at"] = notification.created_at.isoformat()
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO notifications (auth_uid, id, created_at, document)"
                " VALUES (?, ?, ?, ?)",
                (auth_uid, notification_id, document["created_at"], json.dumps(document)),
            )
            created = cursor.rowcount == 1
        return created

    def recent(self, auth_uid: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, document FROM notifications WHERE auth_uid = ?"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (auth_uid, limit),
            ).fetchall()
        return [{"id": row[0], **json.loads(row[1])} for row in rows]

    def mark_read(self, auth_uid: str, ids: Sequence[str] | None) -> int:
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


_MARK_READ = "UPDATE notifications SET document = json_set(document, '$.read', json('true')) WHERE "
MARK_READ_BATCH = 500  # Firestore's limit of writes per batch
_MARK_READ_ROUNDS = 100  # "all" marks 500 per round: up to 50,000 unread at once


def _unread() -> Any:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter("read", "==", False)


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


def handle(
    cloud_event: Any, feed: Feed | None = None, sender: push.Sender | None = None
) -> Outcome:
    """notify-guest's work for one delivery: the notification in the feed, and pushed to the
    recipient's devices. Returns normally (→ 2xx, acknowledged) for everything but a failure
    to write the feed or to reach FCM, which raises so that Pub/Sub retries."""
    fields: dict[str, Any] = {"subscriber": "notify-guest"}
    try:
        event = inbound.decode(cloud_event)
        fields.update(event_id=str(event.event_id), event_type=event.type)
        if event.too_old():
            log.warning(
                "dropped an event older than %ss (%.0fs old)",
                settings.event_max_age_seconds,
                event.age_seconds(),
                extra={"fields": fields},
            )
            return "too_old"
        target = notification_for(event)
    except inbound.Unusable as error:
        log.warning("acknowledged an unusable event: %s", error, extra={"fields": fields})
        return "malformed"
    if target is None:
        log.warning(
            "acknowledged an event of a type notify-guest does not handle", extra={"fields": fields}
        )
        return "unknown_type"
    auth_uid, notification = target
    if "/" in auth_uid or auth_uid in {".", ".."} or auth_uid.startswith("__"):
        # Not a Firestore document id: the write could never succeed, so retrying is no use.
        log.error(
            "acknowledged an event for a user id Firestore cannot hold", extra={"fields": fields}
        )
        return "malformed"
    chosen = feed or default_feed()
    # The feed and the push (issue 10) are each attempted whatever the other does; the first
    # failure is raised afterwards, so that Pub/Sub redelivers and the one that failed gets
    # done then (both are idempotent on event_id, so the one that succeeded is not repeated).
    failure: Exception | None = None
    try:
        created = chosen.add(auth_uid, str(event.event_id), notification)
    except Exception as error:
        failure, created = error, False
    try:
        content = push.PushContent.of(str(event.event_id), notification)
        push.deliver(event.event_id, [auth_uid], content, sender=sender)
    except Exception as error:
        failure = failure or error
    if failure is not None:
        raise failure
    outcome: Outcome = "created" if created else "duplicate"
    log.info("notification %s", outcome, extra={"fields": {**fields, "feed": chosen.name}})
    return outcome
