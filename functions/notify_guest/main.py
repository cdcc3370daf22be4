"""notify-guest: invite-created → a notification for the guest, invite-responded → one for the
host, written to Firestore and pushed to their devices through FCM (realm.events.push).
Triggered by Pub/Sub (a CloudEvent function); idempotent on event_id; fails (so Pub/Sub
redelivers) when the feed or FCM could not be reached. Unusable, unknown and over-age events
are acknowledged and logged (realm.inbound)."""

from typing import Any

import functions_framework
from cloudevents.http import CloudEvent

from realm.events import inbound, notify

_not_an_event = inbound.acknowledge_non_event("notify-guest")
functions_framework.errorhandler(400)(_not_an_event)
functions_framework.errorhandler(415)(_not_an_event)


@functions_framework.cloud_event
def notify_guest(cloud_event: CloudEvent) -> Any:
    notify.handle(cloud_event)
