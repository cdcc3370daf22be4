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


def test_twenty_guests_confirming_at_once_over_http_fill_five_seats_and_wait(
    api: Client,
) -> None:
    host = Person(api, "Host")
    party = host.create_party(in_hours(24), capacity=5)
    guests = [Person(api, f"Guest {n}") for n in range(20)]
    for guest in guests:
        host.invite(party, guest)
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda g: g.respond(party, "confirmed"), guests))
    assert {r.status for r in replies} == {200}
    statuses = sorted(r.body["status"] for r in replies)
    assert statuses == ["confirmed"] * 5 + ["waitlisted"] * 15
    counts = host.get(f"/get-party?party_id={party}").body["counts"]
    assert (counts["heads"], counts["waitlisted"]) == (5, 15)
