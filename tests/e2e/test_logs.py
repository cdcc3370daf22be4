import json
import time
from pathlib import Path

from tests.e2e.flows import Person
from tests.helpers import Client, in_hours


def test_each_request_logs_one_structured_line_with_its_trace_and_never_the_token(
    api: Client, server_log: Path
) -> None:
    person = Person(api, "Logger")
    trace_id = "5f3e0c9a1b2d4e6f8a0b1c2d3e4f5a6b"
    api.get(
        "/list-parties?view=invited",
        auth=person.token,
        headers={"X-Cloud-Trace-Context": f"{trace_id}/1;o=1"},
    )
    api.get("/me", auth=person.token + "tampered")
    person.create_party(in_hours(4))
    time.sleep(0.2)

    text = server_log.read_text()
    assert person.token not in text
    assert person.token.split(".")[2] not in text  # not even the signature
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    traced = [
        e
        for e in entries
        if e.get("logging.googleapis.com/trace") == f"projects/realm-test/traces/{trace_id}"
    ]
    assert len(traced) == 1
    assert traced[0]["severity"] == "INFO"
    assert traced[0]["httpRequest"]["status"] == 200
    assert {"severity", "message"} <= set(entries[-1])
    assert any(e["httpRequest"]["status"] == 401 for e in entries if "httpRequest" in e)


def test_every_line_names_the_function_that_served_the_request_and_the_request_line_its_path(
    api: Client, server_log: Path
) -> None:
    person = Person(api, "Named")
    trace_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    api.get("/me", auth=person.token, headers={"X-Cloud-Trace-Context": f"{trace_id}/1;o=1"})
    api.post("/list-parties", auth=person.token)  # 405: the edge answers, still named
    time.sleep(0.2)

    entries = [json.loads(line) for line in server_log.read_text().splitlines() if line[:1] == "{"]
    assert all("service" in e and "function" in e for e in entries)
    [me_line] = [
        e
        for e in entries
        if e.get("logging.googleapis.com/trace") == f"projects/realm-test/traces/{trace_id}"
    ]
    assert me_line["message"] == "GET /me 200"
    assert me_line["service"] == me_line["function"] == "me"
    assert me_line["httpRequest"]["requestUrl"] == "/me"
    refused = [e for e in entries if e["message"] == "POST /list-parties 405"]
    assert refused
    assert refused[-1]["function"] == "list-parties"
    assert not [e for e in entries if e["message"].startswith(("GET / ", "POST / "))]
