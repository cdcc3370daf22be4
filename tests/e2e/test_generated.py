"""Generated API tests: schemathesis sends requests made from the committed OpenAPI document to
every operation of the local server, and checks every answer against the same document: never
a 5xx, only documented status codes and content types, and bodies that match their schemas.

The seed is fixed (derandomized) and the examples per operation bounded, so that a run is
repeatable and takes about a minute; a failure prints the request that caused it.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from realm.devstack.openapi import DOCUMENT
from tests.e2e.flows import Person
from tests.helpers import Client

# Examples in all, shared by every operation and mode: about a minute for the whole module on
# two cores (one example costs ~12 ms), however many operations the API grows to.
TOTAL_EXAMPLES = 5000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item)


OPERATIONS = _operations()
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
EXAMPLES_PER_OPERATION = max(25, TOTAL_EXAMPLES // (len(OPERATIONS) * len(MODES)))


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))


@pytest.fixture(scope="module")
def caller(server: str) -> Person:
    """A signed-up user: most answers need one to be more than 403 signup_required."""
    return Person(Client(server), "Generated Caller")


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda v: str(v))
def test_every_answer_of_every_operation_is_as_documented(
    schema: Any, server: str, caller: Person, method: str, path: str, mode: GenerationMode
) -> None:
    """Valid requests (positive) and invalid ones (negative: wrong types, missing fields,
    out-of-range values) alike."""
    operation = schema[path][method]
    # delete-account deletes its caller when it succeeds (its documented example does): it gets
    # a caller of its own, so that the operations after it still have someone signed up.
    who = Person(Client(server), "Leaving Caller") if path == "/delete-account" else caller
    headers = {"Authorization": f"Bearer {who.token}"}

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(mode))
    def check(case: Any) -> None:
        case.call_and_validate(base_url=server, headers=headers, checks=CHECKS, timeout=30)

    check()
