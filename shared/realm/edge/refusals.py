"""What the edge refuses: an exception that carries the answer's status, code and message.

``HttpError`` is raised wherever a request is found unusable (its method, token, body, query
string or idempotency key) and answered by ``realm.edge.http`` with the API's JSON error body.
It lives in this leaf module, which imports nothing of realm's, so that ``realm.edge.bodies``
and ``realm.edge.idempotency`` can raise it (as their own subclasses) while ``realm.edge.http``
imports them.
"""

from __future__ import annotations

from typing import Any, Self


class HttpError(Exception):
    """The edge answers ``status`` ``code`` ``message``, with ``details`` and ``headers``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}

    @classmethod
    def invalid(cls, details: list[dict[str, Any]]) -> Self:
        """422 ``validation_error``: the fields ``details`` names are missing or invalid."""
        return cls(422, "validation_error", "Some fields are missing or invalid.", details)

    @classmethod
    def malformed_json(cls) -> Self:
        """400 ``malformed_json``: the body does not parse as JSON."""
        return cls(400, "malformed_json", "The request body is not valid JSON.")
