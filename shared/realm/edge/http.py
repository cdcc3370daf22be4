"""The HTTP edge every function shares: one decorator turns a thin handler into a Cloud
Functions entry point.

``@endpoint`` checks the method, verifies the caller's token (unless the endpoint is declared
``authenticated=False``: the calendar feed, whose secret is its credential; its handler then
gets no caller), enforces the body size limit,
parses and validates the input with the handler's pydantic model, calls the handler, and maps
its result or any domain error to a response with the API's JSON error body. Bad input always
ends as a 4xx; a dependency that is down or slow as a quick ``503 unavailable`` with
``Retry-After`` (``realm.errors.DependencyUnavailable``, logged once per burst by
``realm.outages``); only a bug ends as a 500, and then without a stack trace in the response.

Bodies are read by ``realm.edge.bodies`` (refused before they are read, within a time bound,
strictly decoded), and an endpoint declared ``idempotent=True`` honours the
``Idempotency-Key`` header (``realm.edge.idempotency``).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request, Response

from realm import logs, outages
from realm.config import settings
from realm.db import DataRejected
from realm.edge import api_models, bodies, idempotency
from realm.edge.auth import Caller, InvalidToken, verifier
from realm.edge.refusals import HttpError
from realm.errors import (
    BadRequest,
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    RuleViolation,
    TooLarge,
    UnsupportedMedia,
)
from realm.logs import log, trace, trace_from_headers

_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (BadRequest, 400),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (RuleViolation, 422),
    (TooLarge, 413),
    (UnsupportedMedia, 415),
    (RateLimited, 429),
)
_JSON = "application/json"
# werkzeug's multipart decoder applies this to its read buffer too (64 KiB chunks), so it
# must stay well above that; the models bound each field far below it anyway.
_MAX_FORM_FIELD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Raw:
    """A body that is not a JSON model (the calendar feed's text/calendar)."""

    content: bytes
    content_type: str


@dataclass(frozen=True)
class Json:
    """A JSON body written already, by PostgreSQL (``realm.db.render``): sent as it is, not
    parsed, validated or encoded again. It has the shape of the endpoint's ``response`` model;
    tests hold each such body to its model, and the e2e suite every answer to the OpenAPI
    document (docs/decisions/0060)."""

    text: str

    @classmethod
    def object(cls, **fields: Json | str | int | None) -> Json:
        """An object of ``fields`` in their order: a ``Json`` value as it is, others encoded."""
        members = (
            f'"{name}":{value.text if isinstance(value, Json) else json.dumps(value)}'
            for name, value in fields.items()
        )
        return cls("{" + ",".join(members) + "}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: BaseModel | Raw | Json
    # Headers of this answer besides the edge's own (export-my-data's Content-Disposition);
    # the endpoint names them in ``headers`` so that the OpenAPI document describes them.
    headers: Mapping[str, str] = field(default_factory=dict)


def status_of(kind: type[DomainError]) -> int:
    """The HTTP status of a domain error class."""
    return next(status for base, status in _DOMAIN_STATUS if issubclass(kind, base))


@dataclass(frozen=True)
class Endpoint:
    """What a function accepts and answers, read by the OpenAPI generator; called on the
    function's handler (``@endpoint(...)``), it makes the function's entry point.

    ``errors`` are the domain errors the handler can raise; the answers the edge itself gives
    (a bad token, a wrong method, a body it cannot read, a dependency down) are added by
    :meth:`error_codes` from what the endpoint reads, so no function lists them by hand.
    ``files`` are the multipart file parts it reads, ``required_files`` those of them it cannot
    do without (the handler still checks: the document says what the handler does).
    The operation's description in the document is the function module's docstring.
    """

    method: str
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    files: tuple[str, ...] = ()
    errors: tuple[type[DomainError], ...] = ()
    max_bytes: int = field(default_factory=lambda: settings.max_json_bytes)
    required_files: tuple[str, ...] = ()
    # False: no Firebase token is asked for (the calendar feed; its secret is the credential).
    authenticated: bool = True
    # The success body's media type; a non-JSON one is a ``Raw`` body (``response`` None).
    media_type: str = _JSON
    # Honours the Idempotency-Key header: every POST that creates something sets this.
    idempotent: bool = False
    # Other success statuses, with the same body (join-party: 200 when already invited).
    also: tuple[int, ...] = ()
    # Headers its success answers carry (``Reply.headers``), by their name in the document.
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # An idempotent answer is stored and replayed as its status and body alone.
        assert not (self.idempotent and self.headers), "an idempotent endpoint sends no headers"

    @property
    def successes(self) -> tuple[int, ...]:
        return (self.status, *self.also)

    @property
    def reads_body(self) -> bool:
        return self.body is not None or self.form is not None

    def error_codes(self) -> dict[int, list[str]]:
        """Every error this function can answer: status → its codes, sorted."""
        codes: dict[int, set[str]] = {
            401: {"unauthenticated", "invalid_token"},
            405: {"method_not_allowed"},
            500: {"internal"},
            503: {"unavailable"},
        }
        if not self.authenticated:
            del codes[401]

        def add(status: int, *names: str) -> None:
            codes.setdefault(status, set()).update(names)

        if self.reads_body:
            add(400, "incomplete_body")
            add(408, "request_timeout")
            add(413, "payload_too_large")
            add(415, "unsupported_media_type")
            add(422, "validation_error", "invalid_value")
        else:
            add(400, "body_not_allowed")
        if self.body is not None:
            add(400, "malformed_json")
        if self.form is not None:
            add(411, "length_required")
        if self.query is not None:
            add(422, "validation_error")
        if self.idempotent:
            add(400, "invalid_idempotency_key")
            add(409, "idempotency_key_in_use")
            add(422, "idempotency_key_reused")
        for kind in self.errors:
            add(status_of(kind), kind.code)
        return {status: sorted(names) for status, names in sorted(codes.items())}

    def __call__(self, handler: Callable[..., Reply]) -> Callable[[Request], Response]:
        """The Cloud Functions entry point of ``handler``, declared by this endpoint."""
        # The entry point is named after its folder, and the function is deployed under that
        # name with '-' for '_': its name in logs, in the cloud and locally alike.
        function = handler.__name__.replace("_", "-")

        @functools.wraps(handler)
        def entry(request: Request) -> Response:
            started = time.perf_counter()
            outages.flush()
            trace_token = trace.set(
                trace_from_headers(
                    request.headers.get("X-Cloud-Trace-Context"), request.headers.get("traceparent")
                )
            )
            context_token = logs.bind(function=function)
            try:
                try:
                    result = _respond(self, handler, request)
                except Exception as error:  # every failure becomes a JSON error body
                    result = _map_error(error)
                result.headers["Cache-Control"] = "no-store"
                # The function's name, not the path: in the cloud every function sits at "/".
                logs.request_line(
                    f"{request.method} /{function} {result.status_code}",
                    {
                        "requestMethod": request.method,
                        "requestUrl": f"/{function}",
                        "status": result.status_code,
                        "latency": f"{time.perf_counter() - started:.6f}s",
                    },
                )
                return result
            finally:
                bodies.leave_unread(request)
                logs.unbind(context_token)
                trace.reset(trace_token)

        entry.__realm_endpoint__ = self  # type: ignore[attr-defined]
        return entry


# What each function declares itself with: ``@endpoint("GET", summary=..., response=...)``.
endpoint = Endpoint


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = api_models.ErrorOut(
        error=api_models.ErrorBody(
            code=code,
            message=message,
            details=[api_models.ErrorDetail.model_validate(item) for item in details or []],
        )
    )
    response = Response(body.model_dump_json(), status, content_type=_JSON)
    response.headers.update(headers or {})
    return response


def _validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or None,
            "type": item["type"],
            "message": item["msg"],
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


def _invalid(error: ValidationError) -> HttpError:
    if any(item["type"] == "json_invalid" for item in error.errors()):
        return HttpError.malformed_json()
    return HttpError.invalid(_validation_details(error))


def bearer_token(request: Request) -> str:
    # Behind API Gateway, Authorization carries the gateway's own token and the app's token
    # moves to X-Forwarded-Authorization. Either way it must be a valid Firebase token.
    header = request.headers.get("X-Forwarded-Authorization") or request.headers.get(
        "Authorization", ""
    )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(
            401,
            "unauthenticated",
            "Send 'Authorization: Bearer <Firebase ID token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def authenticate(request: Request) -> Caller:
    try:
        return verifier.verify(bearer_token(request))
    except InvalidToken as error:
        raise HttpError(
            401,
            "invalid_token",
            str(error),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


def parse_json(request: Request, model: type[BaseModel], limit: int) -> BaseModel:
    if request.mimetype != _JSON:
        raise HttpError(415, "unsupported_media_type", "Send the body as application/json.")
    data = bodies.read(request, limit)
    bodies.check_json(data)
    try:
        # Strict: "12" is not an id and true is not a number; JSON has the types for those.
        return model.model_validate_json(data, strict=True)
    except ValidationError as error:
        raise _invalid(error) from None


def parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    return _parsed_query(model, request.environ.get("QUERY_STRING", ""))


# An app asks for the same few query strings over and over (a screen's first page): each is
# decoded and validated once, and the (frozen, so shareable) model is reused. Failures raise and
# are not kept. The bound keeps a stream of distinct cursors from growing it.
@functools.lru_cache(maxsize=4096)
def _parsed_query(model: type[BaseModel], query_string: str) -> BaseModel:
    assert model.model_config.get("frozen"), "only a frozen model may be shared by requests"
    try:
        return model.model_validate(bodies.query_string(query_string))
    except ValidationError as error:
        raise _invalid(error) from None


def parse_form(
    request: Request, model: type[BaseModel], files: tuple[str, ...], limit: int
) -> tuple[BaseModel, dict[str, FileStorage]]:
    if request.mimetype != "multipart/form-data":
        raise HttpError(415, "unsupported_media_type", "Send the body as multipart/form-data.")
    # Text fields are names and addresses; werkzeug refuses a larger one (and more than 1000
    # parts) while parsing.
    bodies.parse_multipart(request, limit, _MAX_FORM_FIELD_BYTES)
    unexpected = sorted(set(request.files) - set(files))
    if unexpected:
        raise HttpError(
            422,
            "validation_error",
            "Unexpected file parts.",
            [
                {"field": name, "type": "extra_forbidden", "message": "Unexpected file"}
                for name in unexpected
            ],
        )
    try:
        parsed = model.model_validate(request.form.to_dict())
    except ValidationError as error:
        raise _invalid(error) from None
    return parsed, {name: request.files[name] for name in files if name in request.files}


def _respond(spec: Endpoint, handler: Callable[..., Reply], request: Request) -> Response:
    if request.method != spec.method:
        allow = spec.method
        raise HttpError(405, "method_not_allowed", f"Use {allow}.", headers={"Allow": allow})
    caller = authenticate(request) if spec.authenticated else None
    if not spec.reads_body:
        bodies.refuse_body(request)
    arguments: dict[str, Any] = {}
    # An endpoint may accept JSON and a multipart form (photo-upload): the handler then gets
    # either ``body`` or ``form`` and ``files``, by the request's content type.
    as_form = spec.form is not None and (
        spec.body is None or request.mimetype == "multipart/form-data"
    )
    if spec.body is not None and not as_form:
        if spec.form is not None and request.mimetype != _JSON:
            raise HttpError(
                415,
                "unsupported_media_type",
                "Send the body as application/json or multipart/form-data.",
            )
        arguments["body"] = parse_json(request, spec.body, spec.max_bytes)
    if spec.query is not None:
        arguments["query"] = parse_query(request, spec.query)
    if spec.form is not None and as_form:
        arguments["form"], arguments["files"] = parse_form(
            request, spec.form, spec.files, spec.max_bytes
        )

    extra: dict[str, str] = {}

    def run() -> tuple[int, bytes | str, str]:
        reply = handler(caller, **arguments) if caller is not None else handler(**arguments)
        extra.update(reply.headers)
        if isinstance(reply.body, Raw):
            return reply.status, reply.body.content, reply.body.content_type
        if isinstance(reply.body, Json):
            return reply.status, reply.body.text, _JSON
        return reply.status, reply.body.model_dump_json(), _JSON

    key = request.headers.get(idempotency.HEADER) if spec.idempotent else None
    if key is None:
        status, body, content_type = run()
        response = Response(body, status, content_type=content_type)
        response.headers.update(extra)
        return response
    # Only authenticated JSON endpoints are declared idempotent: the key is the caller's.
    assert caller is not None

    def run_json() -> tuple[int, str]:
        status, body, _ = run()
        return status, body if isinstance(body, str) else body.decode()

    outcome = idempotency.once(
        caller.uid, key, idempotency.fingerprint(handler, arguments), run_json
    )
    response = Response(outcome.body, outcome.status, content_type=_JSON)
    if outcome.replayed:
        response.headers[idempotency.REPLAYED_HEADER] = "true"
    return response


def _unavailable(error: DependencyUnavailable) -> Response:
    outages.report(error.dependency, error)
    return error_response(
        503,
        "unavailable",
        "A service we depend on is down or busy; retry shortly.",
        headers={"Retry-After": str(error.retry_after)},
    )


def _map_error(error: Exception) -> Response:
    if isinstance(error, HttpError):  # and bodies.BodyRefused, idempotency.Refused
        return error_response(error.status, error.code, error.message, error.details, error.headers)
    if isinstance(error, DependencyUnavailable):
        return _unavailable(error)
    if isinstance(error, RateLimited):
        return error_response(
            429, error.code, error.message, headers={"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, DomainError):
        return error_response(status_of(type(error)), error.code, error.message)
    if isinstance(error, DataRejected):
        log.warning("the database refused a value: %s", error)
        return error_response(422, "invalid_value", "A value was not accepted.")
    log.exception("unhandled error")
    return error_response(500, "internal", "Something went wrong on our side.")


class RunReport(Protocol):
    """What a scheduled run returns: its report, as the function's JSON answer."""

    def as_dict(self) -> dict[str, Any]: ...


_Report = TypeVar("_Report", bound=RunReport)


def scheduled(
    request: Request,
    function: str,
    run: Callable[[], _Report],
    status: Callable[[_Report], int] = lambda report: 200,
) -> Response:
    """The answer of a function Cloud Scheduler invokes (relay-outbox, send-reminders): ``405``
    unless POST; else ``run()``'s report as JSON, with the ``status`` it decides from the
    report. A dependency down (PostgreSQL) is reported once per burst by ``realm.outages``
    (under ``function``) and answered ``503 unavailable`` with ``Retry-After: 60``: the
    scheduler's next run, a minute or a quarter of an hour later, catches up."""
    if request.method != "POST":
        return error_response(405, "method_not_allowed", "Use POST.", headers={"Allow": "POST"})
    try:
        report = run()
    except DependencyUnavailable as error:
        outages.report(error.dependency, error, {"function": function})
        return error_response(
            503, "unavailable", "The database is unavailable.", headers={"Retry-After": "60"}
        )
    return Response(json.dumps(report.as_dict()), status(report), content_type=_JSON)
