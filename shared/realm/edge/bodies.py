"""Request bodies: refused before they are read, read within a time bound, decoded strictly.

What an endpoint reads of a body is bounded three ways:

- **size**: a declared ``Content-Length`` over the endpoint's limit is answered 413 before a
  byte of the body is read; a chunked body is read up to the limit and refused there; a body
  sent with a GET is refused unread (400 ``body_not_allowed``).
- **time**: while a body is read, the connection's socket has a timeout
  (``REALM_BODY_READ_TIMEOUT_SECONDS``), so a client that declares more than it sends gets
  408 ``request_timeout`` instead of holding a worker thread for ever.
- **what is left over**: functions-framework reads whatever the function left of the body into
  memory after every response (its ``read_request`` hook calls ``request.get_data()``, "to avoid
  connection errors"): that is how 100 MB sent to ``create-invite`` became 100 MB of RSS even
  though the edge answered 413 without reading it. :func:`leave_unread` tells it there is
  nothing to read; what the server then does with unread bytes is the server's to bound (the
  local server: ``realm.devstack.server``; gunicorn in the cloud drains at most a bounded amount
  in 1 KiB reads, and Cloud Run refuses bodies over 32 MiB before they reach an instance).

Text is decoded strictly: invalid UTF-8 in a JSON body, a query string or a multipart field is
a 422, never a U+FFFD stored in its place (werkzeug decodes with ``errors="replace"``).
Duplicate keys in a JSON object are a 422 naming the key (JSON parsers silently keep the last,
so two layers could read two different values), and so is a lone surrogate escape (``\\ud800``),
which is not text.
"""

from __future__ import annotations

import codecs
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.wrappers import Request

from realm.config import settings
from realm.edge.refusals import HttpError


class BodyRefused(HttpError):
    """The request's body or query cannot be used; the edge answers ``status`` ``code``."""


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, "payload_too_large", f"The body is over {limit} bytes.")


def _invalid(field: str | None, kind: str, message: str) -> BodyRefused:
    return BodyRefused.invalid([{"field": field, "type": kind, "message": message}])


def has_body(request: Request) -> bool:
    return bool(request.content_length) or "Transfer-Encoding" in request.headers


def refuse_body(request: Request) -> None:
    """For endpoints that read no body (GET): any body is refused, unread."""
    if has_body(request):
        raise BodyRefused(400, "body_not_allowed", f"A {request.method} request takes no body.")


def leave_unread(request: Request) -> None:
    """Whatever the edge did not read stays unread: functions-framework's after-request hook
    would otherwise read the rest of the body into memory (``request.get_data()``)."""
    if getattr(request, "_cached_data", None) is None:
        request._cached_data = b""


@contextmanager
def read_deadline(request: Request) -> Iterator[None]:
    """Bounds every read of the body by ``REALM_BODY_READ_TIMEOUT_SECONDS`` (the socket's
    timeout while the block runs): a body that stops arriving is a 408, not a hung worker."""
    sock: socket.socket | None = request.environ.get("werkzeug.socket") or request.environ.get(
        "gunicorn.socket"
    )
    previous = sock.gettimeout() if sock is not None else None
    if sock is not None:
        sock.settimeout(settings.bounds.body_read_seconds)
    timed_out = BodyRefused(
        408,
        "request_timeout",
        f"The body did not arrive within {settings.bounds.body_read_seconds:g}s.",
    )
    try:
        yield
    except TimeoutError:
        raise timed_out from None
    except ClientDisconnected as error:
        # werkzeug reports a failed read as a disconnect, the timeout as its context.
        if isinstance(error.__context__, TimeoutError):
            raise timed_out from None
        raise BodyRefused(400, "incomplete_body", "The body ended before its length.") from None
    finally:
        if sock is not None:
            with suppress(OSError):  # the client is gone; the server closes the socket
                sock.settimeout(previous)


def read(request: Request, limit: int) -> bytes:
    """The raw body, refusing anything over ``limit`` bytes before reading past it."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    with read_deadline(request):
        data = request.stream.read(limit + 1)
    if len(data) > limit:  # a chunked body: cut off at the limit
        raise _too_large(limit)
    request._cached_data = data  # read once; nobody reads the stream again
    return data


# -- strict text ----------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def no_constant(name: str) -> Any:
    """``json.loads``'s ``parse_constant``: NaN and ±Infinity are not JSON (Python's parser
    accepts them)."""
    raise ValueError(f"{name} is not JSON")


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value) if not value.isascii() else False
    if isinstance(value, dict):
        return any(_has_surrogate(key) or _has_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(item) for item in value)
    return False


def check_json(data: bytes) -> None:
    """Refuses what the model's JSON parser would let through or misread: invalid UTF-8 (422),
    duplicate keys (422 naming the key), lone surrogates (422), NaN and Infinity (400: not
    JSON). Whatever else is wrong with the JSON is the model's to say."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(
            None, "invalid_utf8", f"The body is not valid UTF-8 (at byte {error.start})."
        ) from None
    try:
        parsed = json.loads(text, object_pairs_hook=_unique, parse_constant=no_constant)
    except _DuplicateKey as duplicate:
        raise _invalid(
            duplicate.key, "duplicate_key", f"The key {duplicate.key!r} appears more than once."
        ) from None
    except (ValueError, RecursionError):
        raise BodyRefused.malformed_json() from None
    if _has_surrogate(parsed):
        raise _invalid(
            None, "invalid_unicode", "The body holds a lone surrogate (\\uD800-\\uDFFF)."
        )


def query_string(text: str) -> dict[str, str]:
    """The parameters of the WSGI ``QUERY_STRING`` ``text`` (its bytes, as latin-1), decoded
    strictly: invalid UTF-8 and a parameter given twice are 422s (werkzeug would replace the one
    and keep the first of the other)."""
    raw = text.encode("latin-1")
    found: dict[str, str] = {}
    for item in raw.split(b"&"):
        if not item:
            continue
        name_raw, _, value_raw = item.partition(b"=")
        try:
            name = unquote_to_bytes(name_raw.replace(b"+", b" ")).decode("utf-8")
            value = unquote_to_bytes(value_raw.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(None, "invalid_utf8", "The query string is not valid UTF-8.") from None
        if name in found:
            raise _invalid(name, "duplicate_key", f"The parameter {name!r} appears twice.")
        found[name] = value
    return found


# Multipart text fields: werkzeug decodes each with ``errors="replace"``; this codec (used in
# its place for UTF-8 and ASCII parts) ignores that and decodes strictly.
_STRICT_CODEC = "realm_strict_utf_8"


def _strict_decode(data: Any, errors: str = "strict") -> tuple[str, int]:
    return codecs.utf_8_decode(data, "strict", True)


def _find_codec(name: str) -> codecs.CodecInfo | None:
    if name != _STRICT_CODEC:
        return None
    return codecs.CodecInfo(codecs.utf_8_encode, _strict_decode, name=_STRICT_CODEC)


codecs.register(_find_codec)


class _InvalidFormText(Exception):
    """Not a ValueError: werkzeug's form parser would swallow that and return an empty form."""


class _StrictMultiPartParser(MultiPartParser):
    def get_part_charset(self, headers: Any) -> str:
        charset = super().get_part_charset(headers)
        return charset if charset == "iso-8859-1" else _STRICT_CODEC

    def parse(
        self, stream: IO[bytes], boundary: bytes, content_length: int | None
    ) -> tuple[Any, Any]:
        try:
            return super().parse(stream, boundary, content_length)
        except UnicodeDecodeError:
            raise _InvalidFormText() from None


class _StrictFormDataParser(FormDataParser):
    def _parse_multipart(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> Any:
        parser = _StrictMultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


def parse_multipart(request: Request, limit: int, field_limit: int) -> None:
    """Parses the form (``request.form``, ``request.files``) within the limits: the whole body
    at most ``limit`` bytes (declared up front: 411 without a length), each text field at most
    ``field_limit``, text strictly UTF-8."""
    if request.content_length is None or request.content_length > limit:
        raise BodyRefused(
            413 if request.content_length else 411,
            "payload_too_large" if request.content_length else "length_required",
            f"Send a Content-Length of at most {limit} bytes.",
        )
    request.max_content_length = limit
    request.max_form_memory_size = field_limit
    request.form_data_parser_class = _StrictFormDataParser
    try:
        with read_deadline(request):
            request.files  # noqa: B018 - parses the whole form, within the limits set above
    except RequestEntityTooLarge:
        raise BodyRefused(
            413, "payload_too_large", "A form field or the form is too large."
        ) from None
    except _InvalidFormText:
        raise _invalid(None, "invalid_utf8", "A form field is not valid UTF-8.") from None
    # werkzeug keeps every part of a name and the handler would see the first: refused as
    # JSON keys and query parameters given twice are.
    for name in sorted({*request.form, *request.files}):
        if len(request.form.getlist(name)) + len(request.files.getlist(name)) > 1:
            raise _invalid(name, "duplicate_key", f"The form field {name!r} appears twice.")
