"""mark-notifications-read: the caller's own notifications, some or all, become read.

The only way to change read state: the Firestore rules let the app read its feed, never write
it. Needs no database: the feed is addressed by the caller's uid."""

from realm.edge.api_models import MarkNotificationsReadRequest, NotificationsReadOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import notify


@endpoint(
    "POST",
    summary="Mark your notifications read: some by id, or all",
    body=MarkNotificationsReadRequest,
    response=NotificationsReadOut,
)
def mark_notifications_read(caller: Caller, body: MarkNotificationsReadRequest) -> Reply:
    updated = notify.default_feed().mark_read(caller.uid, None if body.all else body.ids)
    return Reply(200, NotificationsReadOut(updated=updated))
