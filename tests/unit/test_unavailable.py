"""Every dependency that is down or slow is a quick 503 unavailable with Retry-After, never a
500: the edge maps each adapter's failure the same way."""

from __future__ import annotations

import json

import pytest

from realm import outages
from realm.db import DatabaseUnavailable, PoolExhausted
from realm.edge.auth import KeysUnavailable
from realm.edge.http import _map_error
from realm.errors import DependencyUnavailable
from realm.events.notify import FeedUnavailable
from realm.media.storage import StoreUnavailable
from realm.media.urls import SigningUnavailable

FAILURES: list[DependencyUnavailable] = [
    DatabaseUnavailable("connection lost: ConnectionRefusedError", broken=True),
    DatabaseUnavailable("57014: canceling statement due to statement timeout", broken=False),
    PoolExhausted("no database connection free within 3.0s"),
    KeysUnavailable("could not fetch Firebase signing keys: timed out"),
    StoreUnavailable("ReadTimeout: timed out"),
    FeedUnavailable("ServiceUnavailable: 503"),
    SigningUnavailable("could not sign a URL"),
]


def test_a_failure_caused_by_an_error_names_the_error_and_is_cut_at_300_characters() -> None:
    failure = StoreUnavailable.caused_by(TimeoutError("timed out " * 40))

    assert type(failure) is StoreUnavailable
    assert str(failure) == f"TimeoutError: {'timed out ' * 40}"[:300]
    assert len(str(failure)) == 300


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f"{f.dependency}: {f}")
def test_a_dependency_failure_is_a_503_with_retry_after(failure: DependencyUnavailable) -> None:
    outages.reset()

    response = _map_error(failure)

    assert response.status_code == 503
    assert json.loads(response.get_data())["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert "Traceback" not in response.get_data(as_text=True)
