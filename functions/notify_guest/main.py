"""notify-guest: invite-created → a notification for the guest, invite-responded → one for the
host, written to Firestore. Triggered by Pub/Sub (a CloudEvent function); idempotent on
event_id. Unusable, unknown and over-age events are acknowledged and logged (realm.inbound)."""

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

from realm import notifications
from realm.logs import log


@functions_framework.errorhandler(400)  # type: ignore[untyped-decorator]
@functions_framework.errorhandler(415)  # type: ignore[untyped-decorator]
def _not_an_event(error: Exception) -> tuple[str, int]:
    # functions-framework answers 400 (or 415) to a body that is neither a CloudEvent nor a
    # Pub/Sub push.
    # Retrying such a delivery can never succeed: acknowledge it, log it (without the body).
    log.warning(
        "acknowledged a request that is not a Pub/Sub push or a CloudEvent",
        extra={"fields": {"subscriber": "notify-guest"}},
    )
    return "", 204


@functions_framework.cloud_event
def notify_guest(cloud_event: CloudEvent) -> Any:
    notifications.handle(cloud_event)
