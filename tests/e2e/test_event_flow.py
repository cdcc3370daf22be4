"""The event path end to end: create-invite / respond-invite → outbox → Pub/Sub (the official
emulator) → push subscription → notify-guest → Firestore (the official emulator).

These tests run their own `realm serve` (the relay timer off, so that a relay runs only when a
test asks), pointed at the test run's emulators; the outage test brings its own Pub/Sub
emulator, to stop and start it again. The last test runs a server without the emulators: the
in-process fallback.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from realm import db
from realm.config import settings
from realm.devstack import emulators
from realm.devstack.ports import free_port, wait_for_port
from realm.events.notify import FirestoreFeed
from realm.events.publishing import Message, push_envelope
from tests.e2e.flows import Person
from tests.helpers import Client, in_hours

T = TypeVar("T")
SERVE = [sys.executable, "-m", "realm.cli", "serve", "--no-seed", "--relay-every", "0"]


@contextmanager
def serving(name: str, **env: str | None) -> Iterator[Client]:
    """A `realm serve` of its own (same database, same signing key), its log in the state dir."""
    state = Path(os.environ["REALM_STATE_DIR"]) / name
    state.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "REALM_STATE_DIR": str(state)}
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    port = free_port()
    log = state / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        try:
            wait_for_port(port, 120, f"realm serve ({name})")
            client = Client(f"http://127.0.0.1:{port}")
            client.log = log  # type: ignore[attr-defined]
            yield client
        except TimeoutError:
            raise RuntimeError(f"realm serve did not start:\n{log.read_text()}") from None
        finally:
            process.terminate()
            process.wait(timeout=60)


def eventually(probe: Callable[[], T | None], timeout: float = 30, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.1)


def outbox_row(event_type: str, invite_id: int) -> dict[str, Any] | None:
    with db.transaction() as tx:
        return tx.one(
            "SELECT event_id, published_at, attempts, last_error FROM outbox"
            " WHERE type = :t AND (message->'data'->>'invite_id')::bigint = :i",
            t=event_type,
            i=invite_id,
        )


@pytest.fixture(scope="module")
def feed(firestore_emulator: Any) -> FirestoreFeed:
    return FirestoreFeed(settings.project_id)


@pytest.fixture(scope="module")
def events_api(pubsub_emulator: Any, firestore_emulator: Any) -> Iterator[Client]:
    with serving(
        "events-server",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        FIRESTORE_EMULATOR_HOST=firestore_emulator.host,
    ) as client:
        yield client


def all_documents(feed: FirestoreFeed) -> int:
    return sum(1 for _ in feed._client.collection_group("notifications").stream())


def snapshot(feed: FirestoreFeed, auth_uid: str, event_id: str) -> Any:
    document = feed._client.document(f"users/{auth_uid}/notifications/{event_id}").get()
    assert document.exists
    return document


def push(api: Client, body: Any) -> int:
    if isinstance(body, bytes):
        reply = api.post("/notify-guest", data=body, headers={"Content-Type": "application/json"})
    else:
        reply = api.post("/notify-guest", json_body=body)
    return reply.status


def an_invite_event(guest_uid: str, occurred_at: datetime | None = None, **extra: Any) -> Any:
    message = {
        "event_id": str(uuid.uuid4()),
        "type": "invite-created",
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "data": {
            "invite_id": 1,
            "party_id": 1,
            "flat": "FLAT",
            "title": None,
            "guest_auth_uid": guest_uid,
            "host_display_name": "Host",
        },
        **extra,
    }
    return message


def envelope(message: dict[str, Any]) -> dict[str, Any]:
    return push_envelope(
        Message.of(message["type"], message),
        f"projects/{settings.project_id}/subscriptions/notify-guest--invite-created",
    )


@pytest.mark.emulators
def test_an_invite_gives_the_guest_exactly_one_notification_with_the_right_fields(
    events_api: Client, feed: FirestoreFeed
) -> None:
    host, guest = Person(events_api, "Host Ann"), Person(events_api, "Guest Bo")
    party = host.create_party(in_hours(30), flat="FUTUREPARTY1", title="Rooftop")
    # Events other tests left in the shared database's outbox go now, so that the relay's count
    # at the end is of this invite's event alone.
    events_api.post("/relay-outbox")

    invite = host.invite(party, guest)
    assert invite.status == 201

    [note] = eventually(lambda: feed.recent(guest.auth_uid), what="the guest's notification")

    def published() -> dict[str, Any] | None:
        row = outbox_row("invite-created", invite.body["id"])
        return row if row and row["published_at"] else None

    row = eventually(published, what="the event marked published")
    assert note == {
        "id": str(row["event_id"]),
        "type": "invite-created",
        "title": "You're invited",
        "body": "Host Ann invited you to Rooftop at FUTUREPARTY1.",
        "party_id": party,
        "invite_id": invite.body["id"],
        "created_at": note["created_at"],
        "read": False,
    }
    assert abs(note["created_at"] - datetime.fromisoformat(invite.body["created_at"])) < timedelta(
        seconds=5
    )
    assert events_api.post("/relay-outbox").body["published"] == 0, "nothing left pending"
    time.sleep(1)
    assert len(feed.recent(guest.auth_uid)) == 1
    assert feed.recent(host.auth_uid) == [], "the host is not notified of their own invite"


@pytest.mark.emulators
def test_a_confirmation_gives_the_host_exactly_one_notification(
    events_api: Client, feed: FirestoreFeed
) -> None:
    host, guest = Person(events_api, "Host Cy"), Person(events_api, "Guest Di")
    party = host.create_party(in_hours(30), flat="FUTUREPARTY2")
    assert host.invite(party, guest).status == 201
    eventually(lambda: feed.recent(guest.auth_uid), what="the guest's notification")

    assert guest.respond(party, "confirmed").status == 200

    [note] = eventually(lambda: feed.recent(host.auth_uid), what="the host's notification")
    assert (note["type"], note["title"]) == ("invite-responded", "Invite confirmed")
    assert note["body"] == "Guest Di is coming to FUTUREPARTY2."
    assert note["party_id"] == party
    assert note["read"] is False
    time.sleep(1)
    assert len(feed.recent(host.auth_uid)) == 1
    assert len(feed.recent(guest.auth_uid)) == 1, "the guest's own answer does not notify them"


@pytest.mark.emulators
def test_the_same_push_delivered_three_times_in_a_row_leaves_one_document(
    events_api: Client, feed: FirestoreFeed
) -> None:
    guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
    message = an_invite_event(guest_uid)

    first = push(events_api, envelope(message))
    # Meanwhile the notification is read: a redelivery must not make it unread again.
    snapshot(feed, guest_uid, message["event_id"]).reference.update({"read": True})
    again = [push(events_api, envelope(message)) for _ in range(2)]

    assert all(200 <= status < 300 for status in [first, *again]), (first, again)
    [note] = feed.recent(guest_uid)
    assert note["id"] == message["event_id"]
    assert note["read"] is True, "a redelivery leaves the document as it is (create-if-absent)"


@pytest.mark.emulators
def test_the_same_push_delivered_ten_times_at_once_leaves_one_document(
    events_api: Client, feed: FirestoreFeed
) -> None:
    guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
    message = an_invite_event(guest_uid)
    start = threading.Barrier(10)

    def deliver(_: int) -> int:
        body = envelope(message)  # each delivery has its own messageId, like a redelivery
        start.wait()
        return push(events_api, body)

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(deliver, range(10)))

    assert all(200 <= status < 300 for status in statuses), statuses
    assert [note["id"] for note in feed.recent(guest_uid)] == [message["event_id"]]
    written = snapshot(feed, guest_uid, message["event_id"])
    assert written.update_time == written.create_time, "written once, never overwritten"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"this is not JSON", id="not-json"),
        pytest.param({"unexpected": "shape"}, id="not-a-push"),
        pytest.param(
            {"message": {"data": "%% not base64 %%", "messageId": "1"}, "subscription": "s"},
            id="data-not-base64",
        ),
        pytest.param(
            {"message": {"data": "bm90IGpzb24=", "messageId": "1"}, "subscription": "s"},
            id="data-not-json",
        ),
    ],
)
@pytest.mark.emulators
def test_a_malformed_push_body_is_acknowledged_and_leaves_no_document(
    events_api: Client, feed: FirestoreFeed, body: Any
) -> None:
    before = all_documents(feed)

    status = push(events_api, body)

    assert 200 <= status < 300, status
    time.sleep(0.5)
    assert all_documents(feed) == before


@pytest.mark.emulators
def test_an_event_without_its_id_is_acknowledged_and_leaves_no_document(
    events_api: Client, feed: FirestoreFeed
) -> None:
    guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
    message = an_invite_event(guest_uid)
    body = envelope(message)
    del message["event_id"]
    body["message"]["data"] = base64.b64encode(json.dumps(message).encode()).decode()

    assert 200 <= push(events_api, body) < 300
    assert feed.recent(guest_uid) == []


@pytest.mark.emulators
def test_a_push_with_an_unknown_event_type_is_acknowledged_and_leaves_no_document(
    events_api: Client, feed: FirestoreFeed
) -> None:
    guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
    message = an_invite_event(guest_uid, type="party-exploded")

    assert 200 <= push(events_api, envelope(message)) < 300
    assert feed.recent(guest_uid) == []


@pytest.mark.emulators
def test_an_over_age_event_is_acknowledged_and_leaves_no_document(
    events_api: Client, feed: FirestoreFeed
) -> None:
    guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.event_max_age_seconds + 3600)
    old = an_invite_event(guest_uid, occurred_at=long_ago)
    fresh = an_invite_event(guest_uid)

    assert 200 <= push(events_api, envelope(old)) < 300
    assert 200 <= push(events_api, envelope(fresh)) < 300
    assert [note["id"] for note in feed.recent(guest_uid)] == [fresh["event_id"]]


@pytest.mark.emulators
def test_relay_outbox_accepts_only_post(events_api: Client) -> None:
    reply = events_api.get("/relay-outbox")
    assert reply.status == 405
    assert reply.headers.get("Allow") == "POST"


@pytest.mark.emulators
def test_with_pubsub_unreachable_an_invite_still_succeeds_quickly_and_a_relay_run_delivers_it(
    firestore_emulator: Any, feed: FirestoreFeed
) -> None:
    state = Path(os.environ["REALM_STATE_DIR"]) / "outage"
    pubsub = emulators.pubsub(state).start()
    try:
        emulators.wire_pubsub(pubsub.host, settings.project_id, None)
        with serving(
            "outage-server",
            PUBSUB_EMULATOR_HOST=pubsub.host,
            FIRESTORE_EMULATOR_HOST=firestore_emulator.host,
        ) as api:
            emulators.wire_pubsub(pubsub.host, settings.project_id, api.base_url, ["notify-guest"])
            host = Person(api, "Host Ed")
            guests = [Person(api, f"Guest {n}") for n in range(3)]
            party = host.create_party(in_hours(30), flat="OUTAGE")

            started = time.perf_counter()
            assert host.invite(party, guests[0]).status == 201
            usual = time.perf_counter() - started
            eventually(lambda: feed.recent(guests[0].auth_uid), what="delivery while up")

            pubsub.stop()
            during: list[tuple[int, float]] = []
            for guest in guests[1:]:
                started = time.perf_counter()
                reply = host.invite(party, guest)
                during.append((reply.status, time.perf_counter() - started))
                assert reply.status == 201, reply

            assert all(seconds < 1.0 for _, seconds in during), (usual, during)
            waiting = [outbox_row("invite-created", invite_id) for invite_id in invite_ids(party)]
            pending = [row for row in waiting if row and row["published_at"] is None]
            assert len(pending) == 2, "both events wait in the outbox"
            assert pending[0]["attempts"] == 1
            assert "503" in pending[0]["last_error"] or "navailable" in pending[0]["last_error"]
            for guest in guests[1:]:
                assert feed.recent(guest.auth_uid) == []

            pubsub.start()  # the same port, an empty emulator: wired again as `realm serve` does
            emulators.wire_pubsub(pubsub.host, settings.project_id, api.base_url, ["notify-guest"])
            report = api.post("/relay-outbox", timeout=90)

            assert report.status == 200, report.body
            assert report.body["published"] >= 2
            for guest in guests[1:]:
                uid = guest.auth_uid
                eventually(lambda: feed.recent(uid), what="delivery after outage")  # noqa: B023
            for row in pending:
                with db.transaction() as tx:
                    assert tx.scalar(
                        "SELECT published_at FROM outbox WHERE event_id = :e", e=row["event_id"]
                    )
    finally:
        pubsub.stop()


@pytest.mark.emulators
def test_with_firestore_down_a_notification_is_retried_not_lost_and_logged_as_one_line(
    pubsub_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notify-guest answers 5xx while Firestore is down, so Pub/Sub delivers the event again;
    once Firestore is back the redelivery writes the notification. Each failure is one JSON line
    (repeats counted), never functions-framework's traceback."""
    state = Path(os.environ["REALM_STATE_DIR"]) / "firestore-outage"
    firestore = emulators.firestore(state, settings.project_id).start()
    try:
        with serving(
            "firestore-outage-server",
            PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
            FIRESTORE_EMULATOR_HOST=firestore.host,
            REALM_FIRESTORE_TIMEOUT_SECONDS="2",
        ) as api:
            guest_uid = f"guest-{uuid.uuid4().hex[:8]}"
            message = an_invite_event(guest_uid)
            firestore.stop()
            during = [push(api, envelope(message)) for _ in range(3)]
            firestore.start()
            after = eventually(
                lambda: 200 <= push(api, envelope(message)) < 300 or None,
                timeout=60,
                what="a delivery once Firestore is back",
            )
            monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore.host)
            notes = FirestoreFeed(settings.project_id).recent(guest_uid)
            log = api.log.read_text()  # type: ignore[attr-defined]
    finally:
        firestore.stop()

    assert all(status >= 500 for status in during), during
    assert after
    assert [note["id"] for note in notes] == [message["event_id"]], "nothing lost"
    assert "Traceback" not in log
    failures = [line for line in log.splitlines() if line.startswith("{") and '"firestore"' in line]
    assert 1 <= len(failures) <= 2, "three identical failures: a line, the rest counted"


def invite_ids(party: int) -> list[int]:
    with db.transaction() as tx:
        rows = tx.all("SELECT id FROM invites WHERE party_id = :p ORDER BY id", p=party)
    return [row["id"] for row in rows]


def test_without_the_emulators_the_fallback_delivers_and_says_so_once() -> None:
    with serving(
        "fallback-server",
        REALM_EMULATORS="off",
        PUBSUB_EMULATOR_HOST=None,
        FIRESTORE_EMULATOR_HOST=None,
    ) as api:
        host, guest = Person(api, "Host Flo"), Person(api, "Guest Gil")
        party = host.create_party(in_hours(30), flat="NOEMULATOR")
        assert host.invite(party, guest).status == 201
        state = Path(os.environ["REALM_STATE_DIR"]) / "fallback-server"

        def listed() -> str:
            result = subprocess.run(
                [sys.executable, "-m", "realm.cli", "notifications", guest.auth_uid],
                env={**os.environ, "REALM_STATE_DIR": str(state), "REALM_EMULATORS": "off"}
                | {"PUBSUB_EMULATOR_HOST": "", "FIRESTORE_EMULATOR_HOST": ""},
                capture_output=True,
                text=True,
                check=True,
            )
            return result.stdout if "Host Flo invited you to NOEMULATOR." in result.stdout else ""

        printed = eventually(listed, what="the notification in the fallback feed")
        assert printed.startswith(f"1 notification(s) for {guest.auth_uid} (local-file),")
        log = api.log.read_text()  # type: ignore[attr-defined]
        assert log.count("using the in-process fallback") == 1
