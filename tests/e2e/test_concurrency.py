from concurrent.futures import ThreadPoolExecutor

from realm import db
from tests.e2e.flows import Person
from tests.helpers import Client, in_hours


def test_twenty_identical_invites_at_once_create_exactly_one(api: Client) -> None:
    host, guest = Person(api, "Host"), Person(api, "Guest")
    party = host.create_party(in_hours(24))
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(lambda _: host.invite(party, guest).status, range(20)))
    assert statuses == [201] + [409] * 19
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM invites WHERE party_id = :p", p=party) == 1
        assert (
            tx.scalar(
                "SELECT count(*) FROM outbox WHERE type = 'invite-created'"
                " AND (message -> 'data' ->> 'party_id')::bigint = :p",
                p=party,
            )
            == 1
        )
