"""Profile photos: accepting an upload at the door, the photo row, and make-thumbnail's work.

The upload path (``photo-upload``, ``signup``):

1. At the door, before anything is stored (:func:`from_base64`, :func:`from_file`,
   :func:`accept`): the size (``REALM_MAX_UPLOAD_BYTES`` → 413), the type by content (JPEG, PNG,
   WebP, and HEIC when pillow-heif is installed → 415 otherwise), the pixel count declared in the
   header (``REALM_MAX_IMAGE_PIXELS`` → 422, no pixels decoded), a cheap integrity check (→ 422).
2. ``realm.people.profile`` (``set_photo``, ``sign_up``) writes the original to the media store
   with :func:`store_original`, holding no database connection (docs/decisions/0021), and then,
   under :func:`deleted_on_failure`, one transaction records (:func:`record`) the ``photos``
   row (``processing``), makes it the user's profile photo and adds the ``photo-uploaded`` event.
   If that transaction fails, the original is deleted again, so a rejected or failed upload
   leaves neither object nor row. An original can still be left behind without a row (the
   process dies between the two steps, or storage fails the delete too): such an orphan is
   harmless, because nothing refers to it, nothing serves it (only the sanitized images of a
   ``ready`` row are ever served), and the bucket is private.

make-thumbnail (:func:`handle_uploaded`) renders the sanitized images and marks the photo
``ready`` (or ``rejected`` with a reason), idempotently on the event's id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO, Any, Literal

from realm import db
from realm.config import settings
from realm.errors import (
    DomainError,
    InvalidBase64,
    MissingFile,
    PayloadTooLarge,
    TooManyPixels,
    UndecodableImage,
    UnsupportedMediaType,
)
from realm.events import inbound, outbox
from realm.logs import log
from realm.media import images, storage

SUBSCRIBER = "make-thumbnail"
# Room for base64's 4/3 and the JSON or multipart framing around the image.
_FRAMING_BYTES = 64 * 1024
_DATA_URL = re.compile(r"^data:[\w.+/-]*(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)


def body_limit() -> int:
    """The request body limit of the endpoints that carry a photo: a base64 image of the
    maximum size, plus framing. The image itself is held to ``max_upload_bytes``."""
    return -(-settings.max_upload_bytes * 4 // 3) + _FRAMING_BYTES


@dataclass(frozen=True)
class Upload:
    """An image that passed the door."""

    data: bytes
    image: images.Inspected
    sha256: str


@dataclass(frozen=True)
class Accepted:
    photo_id: uuid.UUID
    status: Literal["processing"] = "processing"


# What the door can answer, for the functions that take a photo to declare.
DOOR_ERRORS: tuple[type[DomainError], ...] = (
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyPixels,
    UndecodableImage,
    InvalidBase64,
    MissingFile,
)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The image is over {settings.max_upload_bytes:,} bytes.")


def from_base64(text: str) -> bytes:
    """The bytes of a base64 image; a ``data:`` URL prefix, line breaks and the URL-safe
    alphabet are accepted."""
    text = _DATA_URL.sub("", text.strip(), count=1)
    text = "".join(text.split())
    if len(text) * 3 // 4 > settings.max_upload_bytes + 2:
        raise _too_large()
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64() from None
    if not data:
        raise InvalidBase64("image_base64 is empty.")
    return data


def from_file(stream: IO[bytes]) -> bytes:
    """The bytes of an uploaded file part, reading no more than the limit allows."""
    data = stream.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise _too_large()
    if not data:
        raise UndecodableImage("The photo file is empty.")
    return data


def required_file(files: Mapping[str, IO[bytes] | Any] | None, name: str) -> IO[bytes]:
    """The stream of a multipart file part that must be there."""
    part = (files or {}).get(name)
    if part is None:
        raise MissingFile(f"Send the image as the file part {name!r}.")
    stream: IO[bytes] = getattr(part, "stream", part)
    return stream


def accept(data: bytes) -> Upload:
    """The door: everything that can be judged without storing anything."""
    if len(data) > settings.max_upload_bytes:
        raise _too_large()
    try:
        inspected = images.inspect(data, settings.max_image_pixels)
    except images.ImageError as error:
        if error.kind == "unsupported_type":
            raise UnsupportedMediaType(error.message) from None
        if error.kind == "too_many_pixels":
            raise TooManyPixels(error.message) from None
        raise UndecodableImage(error.message) from None
    return Upload(data, inspected, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Stored:
    """An original in the media store, not yet recorded."""

    photo_id: uuid.UUID
    key: str


def store_original(store: storage.MediaStore, user_id: int, upload: Upload) -> Stored:
    """Writes the original under a new photo id. Call it holding no database connection."""
    photo_id = uuid.uuid4()
    key = storage.original_key(user_id, photo_id)
    store.put(key, upload.data, upload.image.content_type)
    return Stored(photo_id, key)


@contextmanager
def deleted_on_failure(store: storage.MediaStore, stored: Stored) -> Iterator[None]:
    """Deletes the stored original if the block (the transaction recording it) fails, unless
    the connection was lost during COMMIT: then the row may exist, and the object must stay."""
    try:
        yield
    except BaseException as error:
        if not (isinstance(error, db.DatabaseUnavailable) and error.commit_unknown):
            with suppress(Exception):  # best effort: an orphan left here is harmless
                store.delete(stored.key)
        raise


def record(tx: outbox.OutboxTx, user_id: int, stored: Stored, upload: Upload) -> uuid.UUID:
    """Records the stored original as the user's profile photo, with its event."""
    photo_id, key = stored.photo_id, stored.key
    tx.execute(
        "INSERT INTO photos (id, owner_id, content_type, bytes, sha256, original_key)"
        " VALUES (:id, :owner, :type, :bytes, :sha, :key)",
        id=photo_id,
        owner=user_id,
        type=upload.image.content_type,
        bytes=len(upload.data),
        sha=upload.sha256,
        key=key,
    )
    tx.execute(
        "UPDATE users SET photo_id = :photo, updated_at = now() WHERE id = :user",
        photo=photo_id,
        user=user_id,
    )
    outbox.add(tx, "photo-uploaded", {"photo_id": str(photo_id), "user_id": user_id})
    return photo_id


# --- make-thumbnail --------------------------------------------------------------------------

Outcome = Literal["ready", "rejected", "duplicate", "unknown_photo", "not_processing"]


@dataclass(frozen=True)
class PhotoUploaded:
    event_id: uuid.UUID
    photo_id: uuid.UUID


def photo_uploaded(event: inbound.InboundEvent) -> PhotoUploaded:
    """The photo-uploaded event in an inbound message, or ``inbound.Unusable``."""
    if event.type != "photo-uploaded":
        raise inbound.Unusable(f"not a photo-uploaded event: {event.type!r}")
    try:
        return PhotoUploaded(event.event_id, uuid.UUID(str(event.data["photo_id"])))
    except (KeyError, ValueError):
        raise inbound.Unusable("the photo-uploaded event has no valid photo_id") from None


def _finish(
    event: PhotoUploaded,
    status: Literal["ready", "rejected"],
    *,
    reason: str | None = None,
    width: int | None = None,
    height: int | None = None,
    keys: Mapping[str, str] | None = None,
) -> Outcome:
    with db.transaction() as tx:
        # Of concurrent deliveries that get here, one inserts; the others wait for its commit
        # and then insert nothing.
        if not inbound.first_time(tx, SUBSCRIBER, event.event_id):
            return "duplicate"
        changed = tx.execute(
            "UPDATE photos SET status = :status, rejected_reason = :reason, width = :w,"
            " height = :h, thumbnail_keys = CAST(:keys AS jsonb), updated_at = now()"
            " WHERE id = :id AND status = 'processing'",
            status=status,
            reason=reason,
            w=width,
            h=height,
            keys=json.dumps(dict(keys or {})),
            id=event.photo_id,
        )
        if (
            not changed
            and tx.scalar("SELECT 1 FROM photos WHERE id = :id", id=event.photo_id) is None
        ):
            return "unknown_photo"  # deleted while we rendered (its owner deleted the account)
    return status


def handle_uploaded(event: PhotoUploaded, store: storage.MediaStore | None = None) -> Outcome:
    """Renders and stores the sanitized images of the photo, then marks it ready; or rejected.

    Idempotent on the event id: the images are written under keys fixed by the photo id, so a
    concurrent duplicate delivery rewrites the same objects, and only the delivery that records
    the event in ``processed_events`` (in the same transaction as the status change) changes
    the row. A store or database failure raises, and Pub/Sub delivers the event again.
    """
    store = store or storage.store()
    with db.transaction() as tx:
        if inbound.already_processed(tx, SUBSCRIBER, event.event_id):
            return "duplicate"
        photo = tx.one(
            "SELECT owner_id, status, original_key FROM photos WHERE id = :id", id=event.photo_id
        )
    if photo is None:
        # The transaction that wrote the event also wrote the row: this is not our event.
        log.warning("photo-uploaded for unknown photo %s", event.photo_id)
        return "unknown_photo"
    if photo["status"] != "processing":
        return "not_processing"
    try:
        original = store.get(photo["original_key"])
    except storage.ObjectMissing:
        return _finish(event, "rejected", reason="The uploaded file is missing.")
    try:
        rendered = images.render(original, settings.max_image_pixels)
    except images.ImageError as error:
        log.info("photo %s rejected: %s", event.photo_id, error.message)
        return _finish(event, "rejected", reason=error.message)
    keys: dict[str, str] = {}
    for output in rendered.outputs:
        key = storage.output_key(photo["owner_id"], event.photo_id, output.name)
        store.put(key, output.data, output.content_type)
        keys[output.name] = key
    outcome = _finish(event, "ready", width=rendered.width, height=rendered.height, keys=keys)
    if outcome == "unknown_photo":
        # The account's erasure may have cleared the photo's objects before these were
        # written: nothing may stay under a deleted account's prefix.
        for key in keys.values():
            store.delete(key)
    log.info("photo %s: %s", event.photo_id, outcome)
    return outcome
