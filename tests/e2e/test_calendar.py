"""The calendar feed over HTTP, parsed back with the library that wrote it: a calendar app
fetches the secret URL with no Firebase token and gets RFC 5545 text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar

from tests.e2e.flows import Person
from tests.helpers import Client, Reply, in_hours


def fetch(api: Client, url: str) -> Reply:
    parts = urlsplit(url)
    return api.get(f"{parts.path}?{parts.query}")  # no Authorization header at all


def events(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(reply.body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_calendar_app_follows_a_party_through_its_changes_to_its_cancellation(
    api: Client,
) -> None:
    host, guest = Person(api, "Hana"), Person(api, "Gus")
    party = host.create_party(
        in_hours(30).replace(microsecond=0),
        flat="ROOFTOP",
        title="Launch",
        description="Bring " + "snacks and stories, " * 10,
    )
    host.invite(party, guest)
    guest.respond(party, "confirmed")
    link = guest.post_nothing("/calendar-link")
    assert link.status == 200
    url = link.body["url"]
    assert url.startswith(api.base_url + "/calendar?token=")

    first = fetch(api, url)
    [(uid, event)] = events(first).items()
    assert uid == f"party-{party}@realm"
    assert event["SUMMARY"] == "Launch"
    assert event["LOCATION"] == "ROOFTOP"
    assert event["STATUS"] == "CONFIRMED"
    start = event["DTSTART"].dt
    assert start.utcoffset() == timedelta(0), "in UTC"
    assert event["DTEND"].dt - start == timedelta(hours=12)
    raw = first.body.decode()
    assert raw.split("DTSTART:")[1][:16].endswith("Z"), "UTC, written as …Z"
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n")), "folded at 75 octets"
    assert any(line.startswith(" ") for line in raw.split("\r\n")), "the long text was folded"
    assert event["DESCRIPTION"].startswith("Bring snacks")
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in raw
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in raw
    sequence = int(event["SEQUENCE"])

    moved_to = in_hours(40).replace(microsecond=0)
    host.post("/update-party", party_id=party, first_entry=moved_to.isoformat())
    moved = events(fetch(api, url))[uid]
    assert int(moved["SEQUENCE"]) > sequence
    assert moved["DTSTART"].dt == moved_to

    host.post("/cancel-party", party_id=party)
    gone = events(fetch(api, url))[uid]
    assert gone["STATUS"] == "CANCELLED"
    assert int(gone["SEQUENCE"]) > int(moved["SEQUENCE"])


def test_a_new_link_stops_the_old_one_and_the_host_s_feed_holds_their_parties(
    api: Client,
) -> None:
    host = Person(api, "Hana")
    party = host.create_party(in_hours(10), flat="HOME")
    old = host.post_nothing("/calendar-link").body["url"]
    new = host.post_nothing("/calendar-link").body["url"]

    assert fetch(api, old).status == 404
    assert list(events(fetch(api, new))) == [f"party-{party}@realm"]


def test_a_firebase_token_is_neither_needed_nor_enough_for_the_feed(api: Client) -> None:
    host = Person(api, "Hana")
    reply = api.get("/calendar?token=" + "x" * 43, auth=host.token)
    assert (reply.status, reply.body["error"]["code"]) == (404, "calendar_not_found")
