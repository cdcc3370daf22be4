"""Every dependency that is down or slow is a quick 503 unavailable with Retry-After, never a
500: the edge maps each adapter's failure the same way."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from realm import outages
from realm.db import DatabaseUnavailable, PoolExhausted
from realm.devstack import server
from realm.edge.auth import KeysUnavailable
from realm.edge.http import _map_error
from realm.errors import DependencyUnavailable
from realm.events import relay
from realm.events.notify import FeedUnavailable
from realm.hosting import reminders
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


def scheduled_function(folder: str) -> Any:
    """A scheduled function's entry point, loaded as Cloud Functions loads it (its main.py)."""
    return getattr(server.function_module(folder), folder)


# Before: relay-outbox mapped the outage by hand; send-reminders did not, and a PostgreSQL
# outage during its run was an uncaught 500 with a traceback.
@pytest.mark.parametrize(
    ("folder", "runs"), [("relay_outbox", relay), ("send_reminders", reminders)]
)
def test_a_scheduled_function_with_postgresql_down_is_a_503_not_a_500(
    monkeypatch: pytest.MonkeyPatch, folder: str, runs: ModuleType
) -> None:
    outages.reset()

    def down(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseUnavailable("connection lost: ConnectionRefusedError", broken=True)

    monkeypatch.setattr(runs, "run", down)
    entry = scheduled_function(folder)

    response = entry(Request(EnvironBuilder(method="POST").get_environ()))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert json.loads(response.get_data()) == {
        "error": {"code": "unavailable", "message": "The database is unavailable.", "details": []}
    }


@pytest.mark.parametrize("folder", ["relay_outbox", "send_reminders"])
def test_a_scheduled_function_takes_only_post(folder: str) -> None:
    response = scheduled_function(folder)(Request(EnvironBuilder(method="GET").get_environ()))

    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert json.loads(response.get_data())["error"]["code"] == "method_not_allowed"
