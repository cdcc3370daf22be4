"""No database connection is held across a call to another service: every adapter of an
outside service (and its local stand-in) refuses to be called while the calling thread holds a
pooled connection; in the cloud it logs instead of refusing."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from realm import db
from realm.config import settings
from realm.db import guard
from realm.edge.auth import GoogleKeys
from realm.events import notify, publishing
from realm.media import storage, urls
from tests.helpers import now


def _notification() -> notify.Notification:
    return notify.Notification("invite-created", "t", "b", 1, 1, now())


def _messages() -> list[publishing.Message]:
    return [publishing.Message.of("invite-created", {"event_id": "e", "type": "t"})]


def adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    # Clients pointed at addresses where nothing listens: the guard must refuse before any of
    # them tries to connect.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    signed = urls.SignedUrls("bucket", "signer@example.test", lambda data: b"signature")
    return {
        "cloud storage": lambda: storage.store().put("photos/1/x/original", b"x", "image/jpeg"),
        "local directory": lambda: storage.LocalDirectory(tmp_path).get("photos/1/x/original"),
        "pubsub": lambda: publishing.PubSubPublisher("realm-test").publish(
            _messages(), deadline=0, patient=False
        ),
        "local push": lambda: publishing.LocalPushPublisher("http://127.0.0.1:9", "p").publish(
            _messages(), deadline=0, patient=False
        ),
        "no publisher": lambda: publishing.UnconfiguredPublisher().publish(
            _messages(), deadline=0, patient=False
        ),
        "firestore": lambda: notify.FirestoreFeed("realm-test").add("u", "n", _notification()),
        "local feed": lambda: notify.LocalFeed(tmp_path / "f.sqlite3").add(
            "u", "n", _notification()
        ),
        "google keys": lambda: GoogleKeys("http://127.0.0.1:9/keys").key("kid"),
        "signed urls": lambda: signed.url("photos/1/x/512.webp"),
        "local urls": lambda: urls.LocalUrls("http://127.0.0.1:8080").url("photos/1/x/512.webp"),
    }


NAMES = [
    "cloud storage",
    "local directory",
    "pubsub",
    "local push",
    "no publisher",
    "firestore",
    "local feed",
    "google keys",
    "signed urls",
    "local urls",
]


@pytest.mark.usefixtures("storage_emulator")
@pytest.mark.parametrize("name", NAMES)
def test_an_outside_call_inside_a_transaction_is_refused(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = adapters(tmp_path, monkeypatch)[name]

    with (
        pytest.raises(guard.HeldAcrossOutsideCall, match="holding 1 database connection"),
        db.transaction(),
    ):
        call()


@pytest.mark.parametrize("name", ["local directory", "no publisher", "local feed", "local urls"])
def test_the_same_call_with_no_connection_held_goes_ahead(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = adapters(tmp_path, monkeypatch)[name]
    with db.transaction():
        pass

    with suppress(storage.ObjectMissing):  # it looked, which is the point
        call()


def test_the_guard_counts_per_thread_and_forgets_a_connection_once_returned() -> None:
    import threading

    seen: list[int] = []
    with db.transaction():
        assert guard.held() == 1
        worker = threading.Thread(target=lambda: seen.append(guard.held()))
        worker.start()
        worker.join()
        with db.reading():
            assert guard.held() == 2
    assert guard.held() == 0
    assert seen == [0], "another thread (another request) holds nothing"


def test_a_failing_block_gives_its_connection_back_to_the_guard_too() -> None:
    with pytest.raises(ZeroDivisionError), db.transaction():
        _ = 1 / 0
    assert guard.held() == 0


def test_in_the_cloud_a_violation_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "settings", dataclasses.replace(settings, env="cloud"))
    logged: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(record.getMessage())

    handler = Catch(logging.ERROR)
    logging.getLogger("realm").addHandler(handler)
    try:
        with db.transaction():
            guard.outside_call("storage.put")
    finally:
        logging.getLogger("realm").removeHandler(handler)

    [message] = logged
    assert message.startswith("storage.put called while holding 1 database connection")
