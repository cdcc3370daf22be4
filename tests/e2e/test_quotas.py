"""Write quotas over HTTP: past the limit, a 429 that says when to come back."""

from __future__ import annotations

from realm import db
from tests.e2e.conftest import PARTIES_PER_HOUR
from tests.e2e.flows import Person
from tests.helpers import Client, in_hours


def test_a_host_over_the_hourly_party_quota_gets_429_with_retry_after(api: Client) -> None:
    host = Person(api, "Busy Host")
    for _ in range(PARTIES_PER_HOUR):
        host.create_party(in_hours(24))

    reply = api.post(
        "/create-party",
        auth=host.token,
        json_body={"flat": "ONE MORE", "first_entry": in_hours(24).isoformat()},
    )

    assert reply.status == 429, reply
    assert reply.body["error"]["code"] == "rate_limited"
    assert 3500 < int(reply.headers["Retry-After"]) <= 3600
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM parties WHERE host_id = :h", h=host.id) == (
            PARTIES_PER_HOUR
        )
