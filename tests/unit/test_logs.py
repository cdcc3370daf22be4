import json
import logging

from realm.logs import CloudLoggingFormatter, trace, trace_from_headers


def _format(message: str, **fields: object) -> dict[str, object]:
    record = logging.LogRecord("realm", logging.WARNING, __file__, 1, message, (), None)
    record.fields = fields
    return json.loads(CloudLoggingFormatter().format(record))  # type: ignore[no-any-return]


def test_a_log_line_is_one_json_object_with_severity_and_message() -> None:
    entry = _format("hello", httpRequest={"status": 200})
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert entry["httpRequest"] == {"status": 200}


def test_the_request_trace_is_attached_in_cloud_loggings_field() -> None:
    token = trace.set(trace_from_headers("0123abcd/1;o=1", None))
    try:
        entry = _format("traced")
    finally:
        trace.reset(token)
    assert entry["logging.googleapis.com/trace"] == "projects/realm-test/traces/0123abcd"


def test_a_w3c_traceparent_is_understood_and_garbage_ignored() -> None:
    assert trace_from_headers(None, "00-4bf92f3577b34da6-00f067aa0ba902b7-01") == (
        "projects/realm-test/traces/4bf92f3577b34da6"
    )
    assert trace_from_headers("../../etc/passwd", None) is None
    assert trace_from_headers(None, None) is None
