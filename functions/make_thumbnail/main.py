"""make-thumbnail: photo-uploaded → sanitized display image and thumbnails, photo ready.

A CloudEvent function behind a Pub/Sub push subscription (retries on). It returns normally for
what is done or can never be done (acknowledged), and raises for what may work next time
(a store or database failure), so that Pub/Sub delivers the event again.
"""

from typing import Any

import functions_framework

from realm.events import inbound
from realm.logs import log
from realm.media import photos

inbound.install_error_handlers(functions_framework, "make-thumbnail")


@functions_framework.cloud_event
def make_thumbnail(cloud_event: Any) -> None:
    try:
        event = photos.photo_uploaded(inbound.decode(cloud_event))
    except inbound.Unusable as error:
        log.error("make-thumbnail: unusable message acknowledged: %s", error)
        return
    photos.handle_uploaded(event)
