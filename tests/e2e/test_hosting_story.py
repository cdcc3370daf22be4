"""The host's whole story over HTTP: create → invite → guests confirm into a waitlist → one
declines → promotion → the party moves → everyone not declined is told → a co-host invites →
the host cancels → the lists are empty.

The server of tests/e2e runs without the gcloud emulators, so its events go through the
in-process fallback (pushed to /notify-guest, written to the local feed file); the same path
through the official emulators is tested in test_event_flow and tests/integration/test_fanout.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from realm.events import notify
from tests.e2e.flows import Person
from tests.helpers import Client, in_hours


def feed_types(person: Person) -> list[str]:
    """The types of the person's notifications, oldest first."""
    items = notify.LocalFeed(notify.local_feed_path()).recent(person.auth_uid, limit=100)
    return [item["type"] for item in reversed(items)]


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def test_a_host_runs_a_party_from_the_first_invitation_to_its_cancellation(api: Client) -> None:
    host, cohost, late = Person(api, "Hana"), Person(api, "Cora"), Person(api, "Lou")
    ann, bo, cy, di = (Person(api, name) for name in ("Ann", "Bo", "Cy", "Di"))
    party = host.create_party(in_hours(48), flat="ROOFTOP", title="Launch", capacity=2)
    assert host.post("/update-party", party_id=party, max_plus_ones=1).status == 200
    for guest in (ann, bo, cy, di):
        assert host.invite(party, guest).status == 201

    # Two seats: Ann (alone) and Bo take them; Cy waits; Di says no.
    assert ann.respond(party, "confirmed").body["status"] == "confirmed"
    assert bo.respond(party, "confirmed").body["status"] == "confirmed"
    waiting = cy.respond(party, "confirmed", plus_ones=0)
    assert (waiting.status, waiting.body["status"]) == (200, "waitlisted")
    assert di.respond(party, "declined").body["status"] == "declined"
    assert cy.flats("confirmed") == ["ROOFTOP"], "the waitlisted see it on the Confirmed screen"
    [listed] = cy.get("/list-parties?view=confirmed").body["parties"]
    assert listed["invite_status"] == "waitlisted"
    counts = host.party(party).body["counts"]
    assert counts == {"invited": 0, "confirmed": 2, "declined": 1, "waitlisted": 1, "heads": 2}

    # Ann can't come after all: Cy, first in line, takes her seat and is told.
    assert ann.respond(party, "declined").status == 200
    assert cy.party(party).body["my_invite"] == {"status": "confirmed", "plus_ones": 0}
    eventually(lambda: "waitlist-promoted" in feed_types(cy))

    # Cora becomes co-host and is told; the host moves the party.
    assert host.post("/add-cohost", party_id=party, user_id=cohost.id).status == 201
    eventually(lambda: feed_types(cohost) == ["cohost-added"])
    assert cohost.flats("hosting") == ["ROOFTOP"]
    assert api.get("/me", auth=cohost.token).body["is_host"] is True
    moved = host.post("/update-party", party_id=party, first_entry=in_hours(50).isoformat())
    assert moved.status == 200, moved

    # Everyone who has not declined is told, and nobody else.
    for told in (bo, cy, cohost):
        eventually(lambda told=told: "party-updated" in feed_types(told))  # type: ignore[misc]
    time.sleep(0.5)
    assert feed_types(ann) == ["invite-created"]
    assert feed_types(di) == ["invite-created"]
    assert "party-updated" not in feed_types(host), "the one who moved it is not told"

    # The co-host invites someone; the host cancels.
    assert cohost.invite(party, late).status == 201
    cancelled = host.post("/cancel-party", party_id=party)
    assert cancelled.status == 200
    assert cancelled.body["cancelled_at"] is not None
    for told in (bo, cy, cohost, late):
        eventually(lambda told=told: feed_types(told)[-1] == "party-cancelled")  # type: ignore[misc]
    assert "party-cancelled" not in feed_types(ann) + feed_types(di)

    # Every list is empty now.
    for person in (ann, bo, cy, di, late):
        assert person.flats("invited") == []
        assert person.flats("confirmed") == []
    assert host.flats("hosting") == []
    assert cohost.flats("hosting") == []
    # The party itself can still be looked at, cancelled.
    assert late.party(party).body["cancelled_at"] == cancelled.body["cancelled_at"]


def test_a_guest_list_shows_people_as_summaries_without_email_or_phone(api: Client) -> None:
    host, guest = Person(api, "Hana"), Person(api, "Gus")
    party = host.create_party(in_hours(24))
    host.invite(party, guest)
    guest.respond(party, "confirmed")
    host.post("/update-party", party_id=party, guest_list_visible=True)
    assert host.post("/add-cohost", party_id=party, user_id=guest.id).status == 201

    replies = [
        host.guests(party).body["guests"][0]["user"],
        guest.guests(party).body["guests"][0]["user"],
        host.party(party).body["cohosts"][0],
        host.party(party).body["host"],
    ]
    for user in replies:
        assert set(user) == {"id", "handle", "display_name", "photo"}
    assert "example.test" not in str(replies)


def test_send_reminders_reminds_each_confirmed_guest_once(api: Client) -> None:
    host, going, unsure = Person(api, "Hana"), Person(api, "Gus"), Person(api, "Una")
    party = host.create_party(in_hours(5), flat="SOON")
    for guest in (going, unsure):
        host.invite(party, guest)
    going.respond(party, "confirmed")

    first = api.post("/send-reminders")
    again = api.post("/send-reminders")

    assert first.status == again.status == 200
    assert first.body["reminded"] >= 1
    eventually(lambda: feed_types(going)[-1:] == ["party-reminder"])
    time.sleep(0.3)
    assert feed_types(going).count("party-reminder") == 1
    assert "party-reminder" not in feed_types(unsure)
    assert api.get("/send-reminders").status == 405
