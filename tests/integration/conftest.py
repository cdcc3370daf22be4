"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realm.devstack.fcm import StandInFcm


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInFcm]:
    """The dev stack's stand-in FCM endpoint on a free loopback port, for one test module."""
    server = StandInFcm().start()
    yield server
    server.stop()
