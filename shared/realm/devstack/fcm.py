"""A stand-in for FCM HTTP v1, for ``realm serve``, the tests and the benchmark.

It answers ``POST /v1/projects/{project}/messages:send`` the way FCM does: the same request
shape (``{"message": {"token", "notification", "data", "android", "apns", "webpush"}}``,
``validate_only``), the same success (``{"name": "projects/{project}/messages/{id}"}``) and the
same error shape (``{"error": {"code", "message", "status", "details": [...]}}``, with an
``FcmError`` detail naming the ``errorCode``, or a ``google.rpc.BadRequest`` naming the field of
a message it refuses). It records every request it receives, answered or refused.

What it answers is decided by the registration token's shape, so that a test or a developer
can reach every case through the real API (``register-device`` with such a token):

==========================  ======================================================================
token starts with           answer
==========================  ======================================================================
``unregistered``            404 NOT_FOUND, errorCode ``UNREGISTERED`` (the app was uninstalled)
``invalid``                 400 INVALID_ARGUMENT, errorCode ``INVALID_ARGUMENT`` (not a token)
``mismatch``                403 PERMISSION_DENIED, errorCode ``SENDER_ID_MISMATCH``
``quota``                   429 RESOURCE_EXHAUSTED, errorCode ``QUOTA_EXCEEDED``, Retry-After: 1
``unavailable``             503 UNAVAILABLE, errorCode ``UNAVAILABLE``
``flaky``                   503 UNAVAILABLE the first time that token is sent to, then success
anything else               200, the message's name
==========================  ======================================================================

Before the token, the request itself is checked as FCM checks it: a bearer token must be sent
(else 401 UNAUTHENTICATED); the body must be JSON with a ``message`` object holding a ``token``
and no field FCM does not know; every ``data`` value must be a string; ``apns-collapse-id`` at
most 64 bytes; Web Push's ``Topic`` at most 32 URL-safe characters. Each such refusal is a 400
INVALID_ARGUMENT with a BadRequest detail, as FCM answers a malformed message.

Besides FCM's route it serves ``GET /_stand-in/received?token=...`` (what it recorded, for
``realm pushes`` and the tests) and ``DELETE /_stand-in/received`` (forget it all).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SEND = re.compile(r"^/v1/projects/([a-z0-9-]+)/messages:send$")
_MESSAGE_FIELDS = {
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "topic",
    "condition",
}
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
# By token prefix: (HTTP status, status, errorCode, message).
_ANSWERS = (
    ("unregistered", 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    (
        "invalid",
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    (
        "mismatch",
        403,
        "PERMISSION_DENIED",
        "SENDER_ID_MISMATCH",
        "SenderId mismatch",
    ),
    ("quota", 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for this device."),
    ("unavailable", 503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
)


@dataclass(frozen=True)
class Received:
    """One request as the stand-in saw it, and what it answered."""

    at: float
    project: str
    token: str | None
    status: int
    message: Any


def _error(status: int, state: str, message: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": state, "details": [detail]}}


def _bad_request(field: str, description: str) -> tuple[int, dict[str, Any]]:
    return 400, _error(
        400,
        "INVALID_ARGUMENT",
        description,
        {"@type": _BAD_REQUEST, "fieldViolations": [{"field": field, "description": description}]},
    )


def _malformed(message: Any) -> tuple[int, dict[str, Any]] | None:
    """FCM's refusal of a malformed message, or None when it is well formed."""
    if not isinstance(message, dict):
        return _bad_request("message", "Invalid JSON payload received. 'message' is required.")
    unknown = sorted(set(message) - _MESSAGE_FIELDS)
    if unknown:
        return _bad_request(
            f"message.{unknown[0]}", f'Invalid JSON payload received. Unknown name "{unknown[0]}"'
        )
    if not isinstance(message.get("token"), str) or not message["token"]:
        return _bad_request("message.token", "This stand-in only sends to registration tokens.")
    data = message.get("data", {})
    if not isinstance(data, dict):
        return _bad_request("message.data", "Invalid value at 'message.data'")
    for index, (key, value) in enumerate(data.items()):
        if not isinstance(value, str):
            return _bad_request(
                f"message.data[{index}].value",
                f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {key}",
            )
    apns = (message.get("apns") or {}).get("headers") or {}
    if len(str(apns.get("apns-collapse-id", "")).encode()) > 64:
        return _bad_request("message.apns.headers", "apns-collapse-id is over 64 bytes")
    webpush = (message.get("webpush") or {}).get("headers") or {}
    if "Topic" in webpush and not _TOPIC.match(str(webpush["Topic"])):
        return _bad_request("message.webpush.headers", "Topic is not 1-32 URL-safe characters")
    return None


class StandInFcm:
    """The stand-in on 127.0.0.1:``port`` (0: a free one), in threads of this process.

    ``latency`` seconds are spent on each request before answering: the benchmark uses it to
    stand for the round trip to Google.
    """

    def __init__(self, port: int = 0, latency: float = 0.0, keep: int = 100_000) -> None:
        self.latency = latency
        self._received: deque[Received] = deque(maxlen=keep)
        self._seen_flaky: set[str] = set()
        self._lock = threading.Lock()
        self._count = 0
        stand_in = self

        class Handler(_Handler):
            owner = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fcm-stand-in", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandInFcm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def received(self, tokens: set[str] | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if tokens is None or r.token in tokens]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._seen_flaky.clear()

    def answer(self, project: str, body: bytes, authorization: str) -> tuple[int, Any]:
        """FCM's answer to one send request (see the module's docstring)."""
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            return 401, _error(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential.",
                {"@type": _FCM_ERROR, "errorCode": "THIRD_PARTY_AUTH_ERROR"},
            )
        try:
            request = json.loads(body)
        except ValueError:
            return _bad_request("", "Invalid JSON payload received.")
        message = request.get("message") if isinstance(request, dict) else None
        refusal = _malformed(message)
        if refusal is not None:
            self._record(project, message, *refusal)
            return refusal
        assert isinstance(message, dict)
        token = str(message["token"])
        status, answer = self._by_token(project, token)
        self._record(project, message, status, answer)
        return status, answer

    def _by_token(self, project: str, token: str) -> tuple[int, Any]:
        for prefix, status, state, code, text in _ANSWERS:
            if token.startswith(prefix):
                return status, _error(status, state, text, {"@type": _FCM_ERROR, "errorCode": code})
        if token.startswith("flaky"):
            with self._lock:
                first = token not in self._seen_flaky
                self._seen_flaky.add(token)
            if first:
                return 503, _error(
                    503,
                    "UNAVAILABLE",
                    "The service is currently unavailable.",
                    {"@type": _FCM_ERROR, "errorCode": "UNAVAILABLE"},
                )
        with self._lock:
            self._count += 1
            number = self._count
        return 200, {"name": f"projects/{project}/messages/{number:016d}"}

    def _record(self, project: str, message: Any, status: int, answer: Any) -> None:
        token = message.get("token") if isinstance(message, dict) else None
        if not isinstance(token, str):
            token = None
        entry = Received(time.time(), project, token, status, message)
        with self._lock:
            self._received.append(entry)


_NOT_FOUND = {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}


class _Handler(BaseHTTPRequestHandler):
    owner: StandInFcm
    protocol_version = "HTTP/1.1"  # keep-alive, as Google's front end offers
    # Headers and body leave in two writes; with Nagle's algorithm on, the second waits for
    # the client's delayed ACK (40 ms) on every keep-alive request, which Google does not do.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: what it receives is recorded instead."""

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        match = _SEND.match(urlsplit(self.path).path)
        if match is None:
            self._reply(404, _NOT_FOUND)
            return
        if self.owner.latency:
            time.sleep(self.owner.latency)
        status, answer = self.owner.answer(match[1], body, self.headers.get("Authorization", ""))
        self._reply(status, answer, {"Retry-After": "1"} if status == 429 else None)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/_stand-in/received":
            self._reply(404, _NOT_FOUND)
            return
        tokens = parse_qs(parts.query).get("token")
        found = self.owner.received(set(tokens) if tokens else None)
        self._reply(200, {"received": [asdict(r) for r in found]})

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path != "/_stand-in/received":
            self._reply(404, _NOT_FOUND)
            return
        self.owner.clear()
        self._reply(200, {})


def fetch_received(base_url: str, tokens: list[str]) -> list[dict[str, Any]]:
    """What a running stand-in recorded for ``tokens``, oldest first (``realm pushes``)."""
    import urllib.request
    from urllib.parse import urlencode

    query = urlencode([("token", token) for token in tokens])
    with urllib.request.urlopen(f"{base_url}/_stand-in/received?{query}", timeout=10) as reply:
        found: list[dict[str, Any]] = json.loads(reply.read())["received"]
    return found
