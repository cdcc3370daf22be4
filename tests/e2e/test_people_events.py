"""Joining by an invite link notifies the guest exactly as an invite does: join-party → outbox →
Pub/Sub (the official emulator) → notify-guest → Firestore (the official emulator)."""

from __future__ import annotations

import pytest

from realm.events.notify import FirestoreFeed
from tests.e2e.people_flows import Member
from tests.e2e.test_event_flow import events_api as events_api  # the fixture
from tests.e2e.test_event_flow import eventually
from tests.e2e.test_event_flow import feed as feed  # the fixture
from tests.helpers import Client, in_hours


@pytest.mark.emulators
def test_a_guest_who_joins_by_link_gets_the_invite_notification(
    events_api: Client, feed: FirestoreFeed
) -> None:
    host, guest = Member(events_api, "Host Ida"), Member(events_api, "Guest Jo")
    party = host.create_party(in_hours(30), flat="LINKPARTY", title="Garden")
    token = host.create_link(party).body["token"]

    joined = guest.join(token)
    assert joined.status == 201, joined

    [note] = eventually(lambda: feed.recent(guest.auth_uid), what="the guest's notification")
    assert (note["type"], note["title"]) == ("invite-created", "You're invited")
    assert note["body"] == "Host Ida invited you to Garden at LINKPARTY."
    assert (note["party_id"], note["invite_id"]) == (party, joined.body["id"])
    assert guest.join(token).status == 200
    assert feed.recent(host.auth_uid) == [], "the host is not notified of a join"
