"""Fixtures of the integration tests that more than one module uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from realm.config import settings
from realm.devstack.fcm import StandInFcm
from realm.events.notify import Feed, FirestoreFeed, LocalFeed


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInFcm]:
    """The dev stack's stand-in FCM endpoint on a free loopback port, for one test module."""
    server = StandInFcm().start()
    yield server
    server.stop()


@pytest.fixture(params=["firestore", "local-file"])
def feed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Feed]:
    """The notification feed, once as the Firestore emulator and once as the local file."""
    if request.param == "firestore":
        request.getfixturevalue("firestore_emulator")
        yield FirestoreFeed(settings.project_id)
    else:
        yield LocalFeed(tmp_path / "notify.sqlite3")
