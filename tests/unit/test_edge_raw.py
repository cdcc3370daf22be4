"""The two small extensions of the edge for the calendar feed: an endpoint that asks for no
Firebase token, and a reply that is not a JSON model."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from realm.edge.api_models import CalendarQuery
from realm.edge.http import Raw, Reply, endpoint


@endpoint("GET", summary="t", query=CalendarQuery, response=None, authenticated=False)
def feed(query: CalendarQuery) -> Reply:
    return Reply(200, Raw(f"BEGIN:{query.token}".encode(), "text/calendar; charset=utf-8"))


def call(path: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = Request(
        EnvironBuilder(path=path, headers=list((headers or {}).items())).get_environ()
    )
    response = feed(request)
    return response.status_code, response.content_type or "", response.get_data()


def test_an_endpoint_without_a_token_serves_its_raw_body_to_anyone() -> None:
    status, content_type, body = call("/?token=" + "a" * 20)
    assert (status, content_type, body) == (
        200,
        "text/calendar; charset=utf-8",
        b"BEGIN:" + b"a" * 20,
    )


def test_an_endpoint_without_a_token_ignores_a_bad_one_and_still_validates_its_input() -> None:
    assert call("/?token=" + "a" * 20, {"Authorization": "Bearer nonsense"})[0] == 200
    status, content_type, _ = call("/?token=short")
    assert (status, content_type) == (422, "application/json")


@endpoint(
    "GET",
    summary="t",
    query=CalendarQuery,
    response=None,
    authenticated=False,
    headers=("Content-Disposition",),
)
def attachment(query: CalendarQuery) -> Reply:
    return Reply(
        200,
        Raw(b"{}", "application/json"),
        headers={"Content-Disposition": 'attachment; filename="x.json"'},
    )


def test_a_reply_carries_the_headers_its_handler_gives_beside_the_edges_own() -> None:
    request = Request(EnvironBuilder(path="/?token=" + "a" * 20).get_environ())

    response = attachment(request)

    assert response.headers["Content-Disposition"] == 'attachment; filename="x.json"'
    assert response.headers["Cache-Control"] == "no-store"
