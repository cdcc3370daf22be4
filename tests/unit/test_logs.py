import json
import logging
import threading

from realm import logs
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


def test_every_line_names_its_function_in_service_and_function() -> None:
    with logs.bound(function="create-invite"):
        entry = _format("inside a request")
    assert entry["service"] == entry["function"] == "create-invite"
    # Outside any request: the process's function (K_SERVICE in the cloud), here the default.
    outside = _format("at start-up")
    assert outside["service"] == outside["function"] == "realm"


def test_fields_bound_for_a_request_reach_every_line_and_leave_with_it() -> None:
    with logs.bound(function="notify-guest", event_id="e-1"):
        with logs.bound(event_type="invite-created"):
            inner = _format("deep inside", feed="firestore")
        after_inner = _format("back out")
    after = _format("done")
    assert inner["event_id"] == "e-1"
    assert inner["event_type"] == "invite-created"
    assert inner["feed"] == "firestore"  # the line's own fields still come through
    assert "event_type" not in after_inner
    assert after_inner["event_id"] == "e-1"
    assert "event_id" not in after


def test_bound_fields_do_not_leak_between_threads() -> None:
    seen: dict[str, object] = {}

    def other_request() -> None:
        seen.update(_format("other thread"))

    with logs.bound(function="me"):
        worker = threading.Thread(target=other_request)
        worker.start()
        worker.join()
    assert seen["function"] == "realm"
