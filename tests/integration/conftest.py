"""Fixtures of the integration tests that more than one module uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm import db
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


@pytest.fixture(scope="module")
def race_pool() -> Iterator[db.Pool]:
    """A pool of its own for tests.integration.interleave: two transactions at once, and a
    third connection to watch them."""
    pool = db.Pool(db.connection_factory_for(os.environ["DATABASE_URL"]), 3, 60)
    yield pool
    pool.close()
