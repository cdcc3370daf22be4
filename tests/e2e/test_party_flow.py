from realm import db
from tests.e2e.flows import Person
from tests.helpers import Client, add_invite, add_party, in_hours


def test_a_party_goes_from_invitation_to_confirmation_on_each_screen(api: Client) -> None:
    host, guest = Person(api, "Host"), Person(api, "Guest")
    party = host.create_party(in_hours(24), flat="FUTUREPARTY1", title="Rooftop")

    invite = host.invite(party, guest)
    assert invite.status == 201
    assert invite.body["status"] == "invited"
    assert guest.flats("invited") == ["FUTUREPARTY1"]
    assert guest.flats("confirmed") == []

    confirmed = guest.respond(party, "confirmed")
    assert confirmed.status == 200
    assert confirmed.body["status"] == "confirmed"
    assert guest.flats("invited") == []
    assert guest.flats("confirmed") == ["FUTUREPARTY1"]
    assert host.flats("hosting") == ["FUTUREPARTY1"]


def test_a_listed_party_carries_its_times_host_and_the_callers_answer(api: Client) -> None:
    host, guest = Person(api, "Hana"), Person(api, "Gus")
    party = host.create_party(in_hours(24), flat="F1", title="T")
    host.invite(party, guest)
    [listed] = api.get("/list-parties?view=invited", auth=guest.token).body["parties"]
    assert listed["id"] == party
    assert listed["title"] == "T"
    assert listed["host"] == {
        "id": host.id,
        "handle": host.handle,
        "display_name": "Hana",
        "photo": None,
    }
    assert listed["invite_status"] == "invited"
    assert listed["first_entry"] < listed["last_entry"]


def test_a_declined_invite_appears_on_neither_guest_screen(api: Client) -> None:
    host, guest = Person(api, "Host"), Person(api, "Guest")
    party = host.create_party(in_hours(24))
    host.invite(party, guest)
    assert guest.respond(party, "declined").status == 200
    assert guest.flats("invited") == []
    assert guest.flats("confirmed") == []


def test_past_parties_never_appear_but_one_in_progress_does(api: Client) -> None:
    host, guest = Person(api, "Host"), Person(api, "Guest")
    in_progress = host.create_party(in_hours(-6), flat="NOW")
    host.invite(in_progress, guest)
    # A party that is over cannot be created through the API; it is arranged directly.
    with db.transaction() as tx:
        past = add_party(tx, host.id, in_hours(-48), flat="PAST")
        add_invite(tx, past, guest.id)
        add_invite(
            tx, add_party(tx, host.id, in_hours(-30), flat="PAST-CONFIRMED"), guest.id, "confirmed"
        )
    assert guest.flats("invited") == ["NOW"]
    assert guest.flats("confirmed") == []
    assert host.flats("hosting") == ["NOW"]


def test_me_says_whether_the_caller_hosts(api: Client) -> None:
    person = Person(api, "Pat")
    assert api.get("/me", auth=person.token).body["is_host"] is False
    person.create_party(in_hours(3))
    me = api.get("/me", auth=person.token).body
    assert (me["id"], me["display_name"], me["is_host"]) == (person.id, "Pat", True)


def test_the_list_pages_through_with_its_cursor(api: Client) -> None:
    host = Person(api, "Host")
    created = [host.create_party(in_hours(10 + n), flat=f"P{n}") for n in range(5)]
    seen, path = [], "/list-parties?view=hosting&limit=2"
    while True:
        page = api.get(path, auth=host.token).body
        seen += [party["id"] for party in page["parties"]]
        if page["next_cursor"] is None:
            break
        path = f"/list-parties?view=hosting&limit=2&cursor={page['next_cursor']}"
    assert seen == created
