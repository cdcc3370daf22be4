from realm import db
from tests.e2e.flows import Person
from tests.helpers import Client, in_hours, token, uid


def test_a_stranger_cannot_invite_to_a_party_and_is_told_it_does_not_exist(api: Client) -> None:
    host, intruder, guest = Person(api, "Host"), Person(api, "Intruder"), Person(api, "Guest")
    party = host.create_party(in_hours(24))
    reply = intruder.invite(party, guest)
    assert (reply.status, reply.error_code) == (404, "party_not_found")
    unknown = intruder.invite(party + 1_000_000, guest)
    assert (unknown.status, unknown.error_code) == (404, "party_not_found")
    assert guest.flats("invited") == []


def test_a_guest_cannot_invite_others_to_a_party_they_were_invited_to(api: Client) -> None:
    host, guest, friend = Person(api, "Host"), Person(api, "Guest"), Person(api, "Friend")
    party = host.create_party(in_hours(24))
    host.invite(party, guest)
    reply = guest.invite(party, friend)
    assert (reply.status, reply.error_code) == (403, "not_host")


def test_only_the_invited_guest_can_respond(api: Client) -> None:
    host, guest, other = Person(api, "Host"), Person(api, "Guest"), Person(api, "Other")
    party = host.create_party(in_hours(24))
    host.invite(party, guest)
    reply = other.respond(party, "confirmed")
    assert reply.status == 404
    assert reply.error_code == "invite_not_found"
    assert guest.flats("invited") == ["FLAT"]
    assert other.flats("confirmed") == []


def test_the_host_cannot_answer_for_their_guest(api: Client) -> None:
    host, guest = Person(api, "Host"), Person(api, "Guest")
    party = host.create_party(in_hours(24))
    host.invite(party, guest)
    assert host.respond(party, "declined").status == 404
    assert guest.flats("invited") == ["FLAT"]


def test_a_guest_cannot_see_a_party_they_were_not_invited_to(api: Client) -> None:
    host, guest, stranger = Person(api, "Host"), Person(api, "Guest"), Person(api, "Stranger")
    party = host.create_party(in_hours(24), flat="PRIVATE")
    host.invite(party, guest)
    assert stranger.flats("invited") == []
    assert stranger.flats("hosting") == []


def test_a_caller_only_ever_sees_their_own_invites(api: Client) -> None:
    host, first, second = Person(api, "Host"), Person(api, "First"), Person(api, "Second")
    for flat, guest in [("FOR-FIRST", first), ("FOR-SECOND", second)]:
        host.invite(host.create_party(in_hours(24), flat=flat), guest)
    assert first.flats("invited") == ["FOR-FIRST"]
    assert second.flats("invited") == ["FOR-SECOND"]


def test_a_host_sees_only_their_own_parties_under_hosting(api: Client) -> None:
    one, two = Person(api, "One"), Person(api, "Two")
    one.create_party(in_hours(5), flat="ONES")
    two.create_party(in_hours(5), flat="TWOS")
    assert one.flats("hosting") == ["ONES"]


def test_a_signed_in_user_who_never_signed_up_can_do_nothing_but_sign_up(api: Client) -> None:
    stranger = token(uid("unregistered"))
    host = Person(api, "Host")
    party = host.create_party(in_hours(5))
    replies = [
        api.get("/me", auth=stranger),
        api.get("/list-parties?view=invited", auth=stranger),
        api.post(
            "/create-party",
            auth=stranger,
            json_body={"flat": "F", "first_entry": in_hours(5).isoformat()},
        ),
        api.post("/create-invite", auth=stranger, json_body={"party_id": party, "guest_id": 1}),
        api.post(
            "/respond-invite", auth=stranger, json_body={"party_id": party, "response": "confirmed"}
        ),
    ]
    assert [(r.status, r.error_code) for r in replies] == [(403, "signup_required")] * 5


def test_nobody_can_sign_up_twice_with_one_account(api: Client) -> None:
    from tests.helpers import multipart

    person = Person(api, "Once")
    body, content_type = multipart({"display_name": "Twice", "email": "twice@example.test"})
    reply = api.post(
        "/signup", auth=person.token, data=body, headers={"Content-Type": content_type}
    )
    assert reply.status == 409
    with db.transaction() as tx:
        assert tx.scalar("SELECT display_name FROM users WHERE id = :id", id=person.id) == "Once"
