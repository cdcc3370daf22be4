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
