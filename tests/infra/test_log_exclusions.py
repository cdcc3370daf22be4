"""The calendar feed's secret stays out of the logs (terraform/monitoring.tf, docs/operations.md).

Every operation the gateway routes without a Firebase token (OpenAPI ``security: []``) is
fetched with a secret in its URL's query string, and the platform's request logs record whole
URLs. The log exclusions must drop those entries both at the gateway (by path) and at the
function's Cloud Run service (whose request path is "/", so by service); the function's own
request line must name no query at all. Filters are checked offline, with Python's ``re``
standing in for Cloud Logging's RE2 (the same for the regex used: no look-arounds, no
back-references).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from deploy import gateway
from realm import logs
from realm.devstack import server
from tests.infra.conftest import ROOT, Terraform

BY_PATH = "calendar_token_requests_by_path"
RUN_REQUESTS = "calendar_token_run_requests"
PROJECT = "realm-test-project"


def _openapi() -> dict[str, Any]:
    document = json.loads((ROOT / "shared" / "realm" / "openapi.json").read_text("utf-8"))
    assert isinstance(document, dict)
    return document


def token_free_paths() -> list[str]:
    """The paths of the operations the gateway lets through without a Firebase token."""
    return sorted(
        path
        for path, operations in _openapi()["paths"].items()
        for operation in operations.values()
        if isinstance(operation, dict) and operation.get("security") == []
    )


def _resolved(terraform: Terraform, expression: str) -> str:
    """``expression`` with ``${local.x}`` and ``${var.project_id}`` filled in."""

    def value(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "var" and name == "project_id":
            return PROJECT
        found = terraform.locals.get(name) if kind == "local" else None
        assert isinstance(found, str), f"cannot resolve ${{{kind}.{name}}} in {expression!r}"
        return found

    resolved = re.sub(r"\$\{(local|var)\.([a-z0-9_]+)\}", value, expression)
    assert "${" not in resolved, resolved
    return resolved


def _exclusion(terraform: Terraform, name: str) -> dict[str, Any]:
    body = terraform.resource("google_logging_project_exclusion", name)
    assert body.get("disabled") in (None, False, "false"), f"{name} is disabled"
    return body


def _filter(terraform: Terraform, name: str) -> str:
    found = _resolved(terraform, _exclusion(terraform, name)["filter"])
    # sample() would let a share of the entries through, each with a working secret.
    assert "sample(" not in found, found
    return found


def test_the_feed_is_the_one_operation_routed_without_a_token() -> None:
    # A new token-free operation must be looked at here: its secret, too, would be in URLs.
    assert token_free_paths() == ["/calendar"]


def test_every_token_free_url_is_dropped_from_request_logs_by_its_path(
    terraform: Terraform,
) -> None:
    found = _filter(terraform, BY_PATH)
    for field in ("httpRequest.requestUrl", "jsonPayload.url"):
        patterns = re.findall(rf'{re.escape(field)}=~"([^"]*)"', found)
        assert patterns, f"{BY_PATH} does not match {field}"
        regexes = [re.compile(pattern) for pattern in patterns]

        def excluded(url: str, regexes: list[re.Pattern[str]] = regexes) -> bool:
            return any(regex.search(url) for regex in regexes)

        for path in token_free_paths():
            for url in (
                f"https://realm-production-abc.ew.gateway.dev{path}?token=s3cr3t",
                f"{path}?token=s3cr3t",
                f"https://europe-west1-{PROJECT}.cloudfunctions.net{path}?tok%65n=s3cr3t",
            ):
                assert excluded(url), f"{field} {url} would be kept"
        # ...and nothing else: the other operations' request logs stay (calendar-link too).
        others = set(_openapi()["paths"]) - set(token_free_paths())
        assert "/calendar-link" in others
        for path in sorted(others):
            url = f"https://realm-production-abc.ew.gateway.dev{path}?x=1"
            assert not excluded(url), f"{field} {url} would be dropped"
    # Either field alone suffices: no AND narrows the match.
    assert " OR " in found
    assert " AND " not in found


def test_the_feed_functions_cloud_run_request_log_is_dropped(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    found = _filter(terraform, RUN_REQUESTS)
    for path in token_free_paths():
        name = gateway.function_for_path(path)  # the gateway's backend for the path
        assert name.replace("-", "_") in functions, f"{name} is not deployed"
        assert f'resource.labels.service_name="{name}"' in found, f"{name} is not excluded"
    assert 'resource.type="cloud_run_revision"' in found
    # Only the request log: the function's own lines (stdout) stay.
    assert f'logName="projects/{PROJECT}/logs/run.googleapis.com%2Frequests"' in found
    assert " OR " not in found, found


def test_the_link_calendar_link_hands_out_is_a_url_the_exclusions_match(
    terraform: Terraform,
) -> None:
    from realm.db import Tx
    from realm.hosting import calendar

    class OneUser:
        def scalar(self, sql: str, **params: Any) -> int:
            return 7

        def execute(self, sql: str, **params: Any) -> None:
            return None

    url = calendar.new_link(cast(Tx, OneUser()), "someone")
    parts = urlsplit(url)
    assert parts.path in token_free_paths()
    assert "token" in parse_qs(parts.query), "the secret is in the query string"
    regex = re.compile(terraform.locals["calendar_feed_url_regex"])
    assert regex.search(url), url


def _calendar_entry() -> Callable[[Request], Response]:
    return cast(Callable[[Request], Response], server.function_module("calendar").calendar)


@pytest.mark.parametrize("query", ["token={secret}&extra=1", "token={secret}!"])
def test_the_functions_own_request_line_never_holds_the_query(query: str) -> None:
    """What the exclusions leave: the function's own line, which must name only the function.
    Both requests are refused (422) before any database is needed."""
    secret = secrets.token_urlsafe(32)
    request = Request(
        EnvironBuilder(path="/", query_string=query.format(secret=secret)).get_environ()
    )
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.CloudLoggingFormatter())
    logs.log.addHandler(handler)
    try:
        response = _calendar_entry()(request)
    finally:
        logs.log.removeHandler(handler)
    assert response.status_code == 422
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [line] = [line for line in lines if "httpRequest" in line]
    assert line["httpRequest"]["requestUrl"] == "/calendar"
    assert secret[:16] not in out.getvalue()
