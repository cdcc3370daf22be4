"""erase-account: account-deleted → the deleted account's photo objects, its Firestore feed,
the notifications in others' feeds that name the person, and its Firebase Auth account.

A CloudEvent function behind a Pub/Sub push subscription (retries on, then a dead-letter topic
whose messages must be replayed, never dropped: docs/operations/accounts.md). Idempotent: the
erasure row in PostgreSQL records each step once done, so a redelivery does only what is left;
it raises when a dependency is down, so that Pub/Sub delivers the event again."""

from typing import Any

import functions_framework

from realm.accounts import deletion
from realm.events import inbound

inbound.install_error_handlers(functions_framework, "erase-account")


@functions_framework.cloud_event
def erase_account(cloud_event: Any) -> None:
    deletion.handle(cloud_event)
