"""Receiving events: what every event function does before its own work.

A pushed Pub/Sub message reaches an event function as a CloudEvent whose data is
``{"message": {"data": <base64 of the event JSON>, "attributes": {...}, ...}, ...}``, both
in the cloud (Eventarc) and locally (functions-framework converts the emulator's push body).
``decode`` turns that into an ``InboundEvent`` or raises ``Unusable``.

Delivery is at least once, so what an event function does must be idempotent on
``event_id``. notify-guest gets that from create-if-absent documents and needs no database;
a function whose effect lives in PostgreSQL records ``(subscriber, event_id)`` in
``processed_events`` in the same transaction as its effect (``first_time``).

An unusable or over-age event is *acknowledged* (the function returns normally, so the push
gets a 2xx) and logged: retrying it could never succeed, and Pub/Sub would retry it for days.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from realm import outages
from realm.config import settings
from realm.errors import DependencyUnavailable
from realm.logs import log

if TYPE_CHECKING:
    from realm import db


class Unusable(Exception):
    """The message is not an event we can act on; acknowledge it and log why."""


class InboundEvent(BaseModel):
    """The event a pushed message carries, as the outbox wrote it (``Event.message()``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event_id: uuid.UUID
    type: str
    occurred_at: AwareDatetime
    data: dict[str, Any]

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.occurred_at).total_seconds()

    def too_old(self, now: datetime | None = None) -> bool:
        return self.age_seconds(now) > settings.event_max_age_seconds


def unusable(error: ValidationError, what: str) -> Unusable:
    """``Unusable`` naming the fields of ``what`` that are missing or mistyped."""
    fields = sorted({".".join(map(str, item["loc"])) for item in error.errors()})
    return Unusable(f"{what} lacks or mistypes: {', '.join(fields)}")


def _cloud_event_data(cloud_event: Any) -> Any:
    data = getattr(cloud_event, "data", None)
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise Unusable("the CloudEvent data is not JSON") from None
    return data


def decode(cloud_event: Any) -> InboundEvent:
    """The event carried by a pushed Pub/Sub message, or ``Unusable`` saying why not."""
    data = _cloud_event_data(cloud_event)
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise Unusable("no Pub/Sub message in the CloudEvent data")
    raw = message.get("data")
    if not isinstance(raw, str) or not raw:
        raise Unusable("the Pub/Sub message has no data")
    try:
        payload = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        raise Unusable("the message data is not base64-encoded JSON") from None
    try:
        return InboundEvent.model_validate(payload)
    except ValidationError as error:
        raise unusable(error, "the event") from None


def already_processed(tx: db.Tx, subscriber: str, event_id: uuid.UUID) -> bool:
    """Whether ``subscriber`` has recorded ``event_id`` (a cheap early exit; ``first_time`` in
    the transaction of the effect is what makes the effect happen once)."""
    return bool(
        tx.scalar(
            "SELECT 1 FROM processed_events WHERE subscriber = :s AND event_id = :e",
            s=subscriber,
            e=event_id,
        )
    )


def first_time(tx: db.Tx, subscriber: str, event_id: uuid.UUID) -> bool:
    """Records that ``subscriber`` handles ``event_id`` in ``tx``; False if it already has.

    Call it in the transaction that makes the event's effect: a concurrent duplicate waits on
    the row lock and then sees the committed row, so the effect happens once.
    """
    return (
        tx.one(
            "INSERT INTO processed_events (subscriber, event_id) VALUES (:s, :e)"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            s=subscriber,
            e=event_id,
        )
        is not None
    )


def acknowledge_non_event(subscriber: str) -> Callable[[Exception], tuple[str, int]]:
    """An error handler for functions-framework's 400 and 415, which it answers to a body that
    is neither a CloudEvent nor a Pub/Sub push. Redelivering it can never succeed: it is
    acknowledged (204) and logged, without the body."""

    def handler(error: Exception) -> tuple[str, int]:
        log.warning(
            "acknowledged a request that is not a Pub/Sub push or a CloudEvent",
            extra={"fields": {"subscriber": subscriber}},
        )
        return "", 204

    return handler


def redeliver_on_failure(subscriber: str) -> Callable[[Exception], tuple[str, int]]:
    """An error handler for what an event function raises so that Pub/Sub delivers the event
    again (a dependency down, a bug). Without it functions-framework (Flask) logs each failure
    as a multi-line traceback on stderr: during a long Firestore outage, one per delivery.
    With it, a dependency failure is one JSON line, repeats summarised (``realm.outages``), and
    anything else one JSON line with its stack trace as a field. The answer is a 5xx, which
    Pub/Sub takes as "not delivered"."""

    def handler(error: Exception) -> tuple[str, int]:
        fields = {"subscriber": subscriber}
        if isinstance(error, DependencyUnavailable):
            outages.report(error.dependency, error, fields)
            return "", 503
        log.error(
            "%s failed; Pub/Sub will deliver the event again: %s: %s",
            subscriber,
            type(error).__name__,
            error,
            exc_info=error,
            extra={"fields": fields},
        )
        return "", 500

    return handler


def install_error_handlers(framework: Any, subscriber: str) -> None:
    """What every event function answers besides its work, registered on functions-framework
    (``framework``, passed in: this module does not import it): a body that is no event is
    acknowledged (``acknowledge_non_event``); a failure is one log line and a 5xx, so that
    Pub/Sub delivers the event again (``redeliver_on_failure``)."""
    not_an_event = acknowledge_non_event(subscriber)
    framework.errorhandler(400)(not_an_event)
    framework.errorhandler(415)(not_an_event)
    framework.errorhandler(Exception)(redeliver_on_failure(subscriber))
