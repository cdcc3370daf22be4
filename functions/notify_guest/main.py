"""notify-guest: invite-created → a notification for the guest, invite-responded → one for the
host, and a party's changes (party-updated, party-cancelled, waitlist-promoted, cohost-added,
party-reminder) → one for each of the event's recipients, written to Firestore and pushed to
their devices through FCM (realm.events.push). Triggered by Pub/Sub (a CloudEvent function);
idempotent on event_id (realm.events.fanout keeps each recipient's progress in PostgreSQL, and
push each device's); fails (so Pub/Sub redelivers) when the feed or FCM could not be reached.
Unusable, unknown and over-age events are acknowledged and logged (realm.inbound)."""

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

from realm.events import inbound, notify

inbound.install_error_handlers(functions_framework, "notify-guest")


@functions_framework.cloud_event
def notify_guest(cloud_event: CloudEvent) -> Any:
    notify.handle(cloud_event)
