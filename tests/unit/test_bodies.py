"""Request bodies at the edge: refused before they are read, decoded strictly."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from realm.edge import bodies
from tests.helpers import multipart


class Unreadable(io.RawIOBase):
    """A body that fails the test if anyone reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


def request(method: str = "POST", data: bytes = b"", **headers: str) -> Request:
    environ = EnvironBuilder(method=method, data=data, headers=list(headers.items())).get_environ()
    return Request(environ)


def refused(call: Any, status: int, code: str) -> bodies.BodyRefused:
    with pytest.raises(bodies.BodyRefused) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code)
    return caught.value


def test_a_declared_length_over_the_limit_is_refused_without_reading_a_byte() -> None:
    environ = EnvironBuilder(method="POST").get_environ()
    environ.update(CONTENT_LENGTH=str(100 * 2**20), **{"wsgi.input": Unreadable()})

    refused(lambda: bodies.read(Request(environ), 64 * 1024), 413, "payload_too_large")


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    stream = io.BytesIO(b"x" * (10 * 2**20))
    environ = EnvironBuilder(method="POST").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"

    refused(lambda: bodies.read(Request(environ), 1024), 413, "payload_too_large")
    assert stream.tell() <= 1025 + 64 * 1024, "read no further than the limit (and a buffer)"


def test_a_body_on_a_request_that_takes_none_is_refused() -> None:
    refused(lambda: bodies.refuse_body(request("GET", b"x" * 10)), 400, "body_not_allowed")
    bodies.refuse_body(request("GET"))  # and none is fine


def test_what_the_edge_left_unread_stays_unread_after_the_response() -> None:
    environ = EnvironBuilder(method="POST").get_environ()
    environ.update(CONTENT_LENGTH=str(100 * 2**20), **{"wsgi.input": Unreadable()})
    unread = Request(environ)

    bodies.leave_unread(unread)

    # What functions-framework's after-request hook does with every response:
    assert unread.get_data() == b""


@pytest.mark.parametrize(
    ("data", "field", "kind"),
    [
        (b'{"flat": "F\xff"}', None, "invalid_utf8"),
        (b'{"flat": "F", "flat": "G"}', "flat", "duplicate_key"),
        (b'{"a": {"b": 1, "b": 2}}', "b", "duplicate_key"),
        (b'{"flat": "\\ud800"}', None, "invalid_unicode"),
        (b'{"tags": ["ok", "\\udfff"]}', None, "invalid_unicode"),
    ],
)
def test_json_that_a_parser_would_misread_is_a_422(
    data: bytes, field: str | None, kind: str
) -> None:
    error = refused(lambda: bodies.check_json(data), 422, "validation_error")
    assert [(d["field"], d["type"]) for d in error.details] == [(field, kind)]


@pytest.mark.parametrize("data", [b'{"capacity": NaN}', b'{"capacity": -Infinity}'])
def test_nan_and_infinity_are_not_json(data: bytes) -> None:
    refused(lambda: bodies.check_json(data), 400, "malformed_json")


def test_ordinary_json_passes() -> None:
    bodies.check_json('{"flat": "Café 🎉", "n": [1, 2.5, null]}'.encode())


def test_a_query_string_is_decoded_strictly() -> None:
    assert bodies.query_string("view=invited&cursor=a%2Bb&x=caf%C3%A9+1") == {
        "view": "invited",
        "cursor": "a+b",
        "x": "café 1",
    }
    error = refused(lambda: bodies.query_string("view=%FF"), 422, "validation_error")
    assert error.details[0]["type"] == "invalid_utf8"


def test_a_query_parameter_given_twice_is_a_422() -> None:
    error = refused(
        lambda: bodies.query_string("view=invited&view=hosting"),
        422,
        "validation_error",
    )
    assert error.details[0]["field"] == "view"


def test_a_multipart_field_of_invalid_utf8_is_a_422_not_a_replacement_character() -> None:
    body, content_type = multipart({"display_name": "Ann", "email": "a@example.test"})
    body = body.replace(b"Ann", b"A\xffn")
    form = request("POST", body, **{"Content-Type": content_type})

    error = refused(lambda: bodies.parse_multipart(form, 1 << 20, 1 << 16), 422, "validation_error")
    assert error.details[0]["type"] == "invalid_utf8"


def test_a_multipart_form_of_valid_text_parses() -> None:
    body, content_type = multipart(
        {"display_name": "Zoë 🎉", "email": "a@example.test"},
        {"photo": ("p.jpg", b"\xff\xd8\xff binary is fine", "image/jpeg")},
    )
    form = request("POST", body, **{"Content-Type": content_type})

    bodies.parse_multipart(form, 1 << 20, 1 << 16)

    assert form.form["display_name"] == "Zoë 🎉"
    assert form.files["photo"].read().startswith(b"\xff\xd8\xff")


def test_a_multipart_body_without_a_length_is_a_411() -> None:
    form = request("POST", b"", **{"Content-Type": "multipart/form-data; boundary=x"})
    form.environ.pop("CONTENT_LENGTH", None)
    refused(lambda: bodies.parse_multipart(form, 1 << 20, 1 << 16), 411, "length_required")
