"""The drift guard: every answer the end-to-end tests receive is held to the committed OpenAPI
document (shared/realm/openapi.json), the one the app's clients are generated from.

``tests.helpers.Client`` calls :func:`check` on every response, so an answer the document
does not promise fails the test that received it: a status not documented for that operation,
or an error ``code`` outside that status's enum (a function raising an error it did not declare
in ``@endpoint(errors=...)``). Paths that are not operations of the document (the local media
files, event pushes, relay-outbox, an unknown function) are not the app's contract and are
not checked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parents[1] / "shared" / "realm" / "openapi.json"


class ContractBroken(AssertionError):
    """An answer the committed OpenAPI document does not allow."""


@cache
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def check(
    method: str, path: str, status: int, body: Any, doc: dict[str, Any] | None = None
) -> None:
    """Raises ContractBroken when ``status``/``body`` is not a documented answer."""
    doc = doc if doc is not None else document()
    item = doc["paths"].get(path.split("?", 1)[0])
    if item is None:
        return
    operation = item.get(method.lower())
    if operation is None:
        # A method the function does not answer: the edge says 405, documented on its method.
        [declared] = [op for op in item.values() if isinstance(op, dict) and "responses" in op]
        operation, expected = declared, 405
        if status != expected:
            raise ContractBroken(f"{method} {path}: {status}, but only 405 is documented for it")
    response = operation["responses"].get(str(status))
    if response is None:
        raise ContractBroken(
            f"{method} {path} answered {status}, which the document does not list "
            f"(it lists {', '.join(sorted(operation['responses']))})"
        )
    if status < 400:
        return
    schema = response["content"]["application/json"]["schema"]
    allowed = schema["properties"]["error"]["properties"]["code"]["enum"]
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    if code not in allowed:
        raise ContractBroken(
            f"{method} {path} answered {status} {code!r}, not among its documented codes "
            f"{allowed}: declare the error in the function's @endpoint(errors=...)"
        )
