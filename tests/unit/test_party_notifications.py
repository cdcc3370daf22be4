"""What each party event says: one notification, the same for every recipient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from realm import cursors
from realm.errors import InvalidCursor
from realm.events import inbound, notify

OCCURRED = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
PARTY: dict[str, Any] = {
    "party_id": 39,
    "flat": "FUTUREPARTY1",
    "title": "Rooftop",
    "first_entry": "2030-01-03T20:00:00+00:00",
}


def event(event_type: str, **data: Any) -> inbound.InboundEvent:
    return inbound.InboundEvent(
        event_id=uuid.uuid4(), type=event_type, occurred_at=OCCURRED, data={**PARTY, **data}
    )


@pytest.mark.parametrize(
    ("event_type", "extra", "title", "body"),
    [
        (
            "party-updated",
            {"previous_flat": "FUTUREPARTY1", "previous_first_entry": "2030-01-03T18:00:00Z"},
            "New time",
            "Rooftop at FUTUREPARTY1 now opens Thu 3 Jan, 20:00 UTC.",
        ),
        (
            "party-updated",
            {"previous_flat": "OLDFLAT", "previous_first_entry": "2030-01-03T20:00:00Z"},
            "New place",
            "Rooftop is now at FUTUREPARTY1.",
        ),
        (
            "party-updated",
            {
                "title": None,
                "previous_flat": "OLDFLAT",
                "previous_first_entry": "2030-01-01T20:00:00Z",
            },
            "New time and place",
            "The party at OLDFLAT is now at FUTUREPARTY1, opening Thu 3 Jan, 20:00 UTC.",
        ),
        (
            "party-cancelled",
            {"host_display_name": "Hana"},
            "Party cancelled",
            "Hana cancelled Rooftop at FUTUREPARTY1.",
        ),
        (
            "party-cancelled",
            {"reason": "host-left"},
            "Party cancelled",
            "Rooftop at FUTUREPARTY1 is cancelled: its host left Realm.",
        ),
        (
            "waitlist-promoted",
            {"guest_ids": [20]},
            "You're in",
            "A place opened up: you're confirmed for Rooftop at FUTUREPARTY1.",
        ),
        (
            "cohost-added",
            {"host_display_name": "Hana"},
            "You're a co-host",
            "Hana made you a co-host of Rooftop at FUTUREPARTY1.",
        ),
        (
            "party-reminder",
            {},
            "Party soon",
            "Rooftop at FUTUREPARTY1 opens Thu 3 Jan, 20:00 UTC.",
        ),
    ],
)
def test_each_party_event_says_what_happened_to_which_party(
    event_type: str, extra: dict[str, Any], title: str, body: str
) -> None:
    received = event(event_type, **extra)
    note = notify.fanout_notification(received)
    assert note.document() == {
        "type": event_type,
        "title": title,
        "body": body,
        "party_id": 39,
        "invite_id": None,
        "created_at": OCCURRED,
        "read": False,
    }


def test_a_party_event_without_what_its_type_needs_is_unusable() -> None:
    with pytest.raises(inbound.Unusable, match="host_display_name"):
        notify.fanout_notification(event("party-cancelled"))


def test_times_are_written_in_utc_whatever_offset_the_event_carries() -> None:
    moment = datetime.fromisoformat("2030-01-03T22:00:00+02:00")
    assert notify.when(moment) == "Thu 3 Jan, 20:00 UTC"


def test_a_guest_list_cursor_round_trips_and_refuses_what_it_did_not_give_out() -> None:
    cursor = cursors.encode_named("waitlisted", 1234)
    assert cursors.decode_named(cursor, frozenset({"waitlisted"})) == ("waitlisted", 1234)
    for bad in [cursors.encode_named("maybe", 1), cursors.encode_named("invited", 0), "%%%"]:
        with pytest.raises(InvalidCursor):
            cursors.decode_named(bad, frozenset({"invited", "waitlisted"}))
