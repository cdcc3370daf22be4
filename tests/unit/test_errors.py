"""The catalogue of domain errors and what each function declares from it."""

from __future__ import annotations

from collections import defaultdict

import pytest

from realm import errors
from realm.edge.api_models import PartyOut
from realm.edge.http import Endpoint, status_of


def test_every_error_code_has_exactly_one_status() -> None:
    statuses: dict[str, set[int]] = defaultdict(set)
    for code, kind in errors.catalogue().items():
        statuses[code].add(status_of(kind))

    assert all(len(found) == 1 for found in statuses.values()), statuses


def test_an_error_without_a_message_says_its_default() -> None:
    error = errors.PartyNotFound()

    assert (error.code, error.message) == ("party_not_found", "No such party.")
    assert errors.PartyOver("Over since noon.").message == "Over since noon."


def test_a_rate_limit_asks_for_at_least_a_second() -> None:
    assert errors.RateLimited(0).retry_after == 1


def test_an_endpoint_answers_what_the_edge_adds_beside_what_it_declares() -> None:
    spec = Endpoint("GET", "x", PartyOut, 200, errors=(errors.PartyNotFound,))

    codes = spec.error_codes()

    assert codes[404] == ["party_not_found"]
    assert codes[401] == ["invalid_token", "unauthenticated"]
    assert 503 in codes
    assert 405 in codes
    assert 413 not in codes, "a GET without a body cannot be too large"


def test_an_endpoint_without_a_token_answers_no_401_and_may_answer_another_media_type() -> None:
    spec = Endpoint(
        "GET",
        "feed",
        None,
        200,
        errors=(errors.CalendarNotFound,),
        authenticated=False,
        media_type="text/calendar",
    )

    codes = spec.error_codes()

    assert 401 not in codes
    assert codes[404] == ["calendar_not_found"]


def test_an_idempotent_endpoint_cannot_declare_headers_its_replays_would_not_carry() -> None:
    with pytest.raises(AssertionError, match="idempotent"):
        Endpoint("POST", "x", PartyOut, 201, idempotent=True, headers=("Location",))
