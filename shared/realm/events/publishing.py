"""The publisher port: how committed events leave the process, and the adapters behind it.

- ``PubSubPublisher``: Google Pub/Sub through ``google-cloud-pubsub``, one client per process.
  It is what runs in the cloud, and it works unchanged against the official emulator when
  ``PUBSUB_EMULATOR_HOST`` is set (the client library reads that variable itself).
- ``LocalPushPublisher``: for local runs without the emulator. It POSTs the very envelope a
  Pub/Sub push subscription would POST to the local event function (``/notify-guest``,
  ``/make-thumbnail``), so the event functions cannot tell the difference.
- ``UnconfiguredPublisher``: a test process with neither; events simply wait in the outbox.

``default()`` picks one from the environment. The Pub/Sub client is imported only inside its
adapter: the read-path functions never load it.

The push routes below are the local stand-in for the cloud's Eventarc triggers: the devstack
creates one push subscription per route on the emulator, and the fallback posts along them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from realm.config import settings
from realm.db import guard
from realm.process import PerKey

# topic → the event function that consumes it (deployed name, served locally at /<name>).
PUSH_ROUTES: dict[str, str] = {
    "invite-created": "notify-guest",
    "invite-responded": "notify-guest",
    "photo-uploaded": "make-thumbnail",
    "party-updated": "notify-guest",
    "party-cancelled": "notify-guest",
    "waitlist-promoted": "notify-guest",
    "cohost-added": "notify-guest",
    "party-reminder": "notify-guest",
    "account-deleted": "erase-account",
}


def subscription_name(topic: str) -> str:
    """The local push subscription that feeds ``topic`` to its event function."""
    return f"{PUSH_ROUTES[topic]}--{topic}"


@dataclass(frozen=True)
class Message:
    """One Pub/Sub message: the event JSON as data, ``event_id`` and ``type`` as attributes."""

    topic: str
    data: bytes
    attributes: dict[str, str]

    @classmethod
    def of(cls, topic: str, message: dict[str, Any]) -> Message:
        return cls(
            topic,
            json.dumps(message, separators=(",", ":"), sort_keys=True).encode(),
            {"event_id": str(message["event_id"]), "type": str(message["type"])},
        )


class Publisher(Protocol):
    name: str

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        """Publishes ``messages`` by ``deadline`` (a ``time.monotonic()`` instant).

        Returns, for each message in order, ``None`` once the broker has accepted it, or the
        reason it was not. Never raises. ``patient=False`` makes a single attempt per message
        (the request path: fail fast, the relay will retry); ``patient=True`` retries
        transient errors until the deadline (the relay).
        """
        ...


def describe_error(error: BaseException) -> str:
    """An error as an outbox row records it in ``last_error``: its type and message, bounded."""
    text = f"{type(error).__name__}: {error}".strip()
    return text[:500]


class PubSubPublisher:
    name = "pubsub"

    def __init__(self, project_id: str) -> None:
        from google.cloud.pubsub_v1 import PublisherClient
        from google.cloud.pubsub_v1.types import BatchSettings

        self._project = project_id
        self._client = PublisherClient(
            # Up to 500 messages or 1 ms per batch: the relay hands over hundreds at a time,
            # a request one or two.
            batch_settings=BatchSettings(max_messages=500, max_latency=0.001)
        )
        self._paths: dict[str, str] = {}

    def _path(self, topic: str) -> str:
        path = self._paths.get(topic)
        if path is None:
            path = self._paths[topic] = self._client.topic_path(self._project, topic)
        return path

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        from google.api_core.retry import Retry

        guard.outside_call("pubsub.publish")
        budget = max(0.05, deadline - time.monotonic())
        retry: Any = (
            Retry(initial=0.1, maximum=2.0, multiplier=2.0, timeout=budget) if patient else None
        )
        futures: list[Any] = []
        for message in messages:
            try:
                futures.append(
                    self._client.publish(
                        self._path(message.topic),
                        message.data,
                        retry=retry,
                        timeout=budget,
                        **message.attributes,
                    )
                )
            except Exception as error:  # a stopped client, a bad attribute: that message fails
                futures.append(error)
        results: list[str | None] = []
        for future in futures:
            if isinstance(future, BaseException):
                results.append(describe_error(future))
                continue
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
                results.append(None)
            except TimeoutError:
                # The publish may still complete in the background: at worst the relay
                # publishes it again, and subscribers are idempotent on event_id.
                results.append(f"TimeoutError: no answer from Pub/Sub within {budget:.1f}s")
            except Exception as error:
                results.append(describe_error(error))
        return results


def push_envelope(message: Message, subscription: str) -> dict[str, Any]:
    """The JSON body a Pub/Sub push subscription POSTs for ``message``."""
    published = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    message_id = str(secrets.randbelow(10**16))
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": published,
            "publish_time": published,
        },
        "subscription": subscription,
    }


class LocalPushPublisher:
    """Delivers each message straight to the local event function, as a push subscription
    would; a non-2xx answer or no answer counts as not published (the relay tries again)."""

    name = "local-push"

    def __init__(self, base_url: str, project_id: str) -> None:
        self._base = base_url.rstrip("/")
        self._project = project_id

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        guard.outside_call("local-push.publish")
        results: list[str | None] = []
        for message in messages:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                results.append("TimeoutError: out of time before this message")
                continue
            route = PUSH_ROUTES.get(message.topic)
            if route is None:
                results.append(f"no local event function consumes topic {message.topic!r}")
                continue
            subscription = (
                f"projects/{self._project}/subscriptions/{subscription_name(message.topic)}"
            )
            body = json.dumps(push_envelope(message, subscription)).encode()
            request = urllib.request.Request(
                f"{self._base}/{route}",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=remaining) as response:
                    response.read()
                results.append(None)
            except urllib.error.HTTPError as error:
                results.append(f"{route} answered {error.code}")
            except Exception as error:
                results.append(describe_error(error))
        return results


class UnconfiguredPublisher:
    """A test process without the emulator and without a local server to push to."""

    name = "none"

    def publish(
        self, messages: Sequence[Message], *, deadline: float, patient: bool
    ) -> list[str | None]:
        guard.outside_call("publish")
        return ["no publisher in this process (no PUBSUB_EMULATOR_HOST, no local server)"] * len(
            messages
        )


def choice() -> tuple[str, ...]:
    """Which adapter the environment asks for (and the settings it depends on).

    The emulator variable is read here, not in ``realm.config``: it belongs to the Google
    client libraries, and the test run sets it only once a test needs the emulator.
    """
    emulator = os.environ.get("PUBSUB_EMULATOR_HOST", "")
    if emulator or settings.env == "cloud":
        return ("pubsub", emulator)
    base_url = os.environ.get("REALM_PUBLIC_BASE_URL")
    if settings.env == "local" or base_url:
        return ("local-push", (base_url or settings.public_base_url).rstrip("/"))
    return ("none",)


def default() -> Publisher:
    """The process's publisher, created once per configuration and reused."""
    return _publishers.get(choice())


def _create(key: tuple[str, ...]) -> Publisher:
    if key[0] == "pubsub":
        return PubSubPublisher(settings.project_id)
    if key[0] == "local-push":
        return LocalPushPublisher(key[1], settings.project_id)
    return UnconfiguredPublisher()


_publishers: PerKey[tuple[str, ...], Publisher] = PerKey(_create)
