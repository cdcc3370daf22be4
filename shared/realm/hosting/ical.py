"""The calendar feed as RFC 5545 text, built with the ``icalendar`` library.

Only the calendar function imports this module, so only its archive carries ``icalendar``
(deploy/build.py decides that from the imports).

Each party is one VEVENT: ``UID`` is stable (``party-<id>@realm``) so that calendars update the
same event; ``SEQUENCE`` is the party's revision, which update-party and cancel-party raise;
a cancelled party is ``STATUS:CANCELLED``; times are UTC (``…Z``); ``DTEND`` is the last
entry. The library folds long lines at 75 octets and escapes text as the RFC requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

from icalendar import Calendar, Event

from realm.hosting.calendar import Entry

PRODID = "-//Realm//Realm parties//EN"


def uid(party_id: int) -> str:
    return f"party-{party_id}@realm"


def render(entries: Sequence[Entry], name: str = "Realm parties") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    # A hint to calendar apps on how often to refresh (RFC 7986 and its older spelling).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")  # an X- property is text to the library
    for entry in entries:
        event = Event()
        event.add("uid", uid(entry.party_id))
        event.add("sequence", entry.revision)
        event.add("dtstamp", entry.updated_at.astimezone(UTC))
        event.add("last-modified", entry.updated_at.astimezone(UTC))
        event.add("dtstart", entry.first_entry.astimezone(UTC))
        event.add("dtend", entry.last_entry.astimezone(UTC))
        event.add("summary", entry.title or entry.flat)
        event.add("location", entry.flat)
        if entry.description:
            event.add("description", entry.description)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
