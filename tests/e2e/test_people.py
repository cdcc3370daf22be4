"""People over HTTP (DESIGN §12): a profile, finding friends, contacts, invite links, blocking.

The e2e database is shared by every test of the run, so each test names its people with a word
of its own (``tag``) and searches for it.
"""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import pytest

from realm import db
from tests.e2e.people_flows import Member
from tests.helpers import Client, in_hours


@pytest.fixture
def tag() -> str:
    """A word no other test uses: letters only, so that it is one search term."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


class TestProfile:
    def test_a_profile_changes_only_in_the_fields_sent(self, api: Client) -> None:
        zoe = Member(api, "Zoe")

        phone = zoe.update_profile(phone="+49 151 1234-5678", discoverable_by_phone=True)
        renamed = zoe.update_profile(display_name="  Zoë Ångström ")

        assert phone.status == renamed.status == 200
        assert renamed.body["display_name"] == "Zoë Ångström"
        assert (renamed.body["phone"], renamed.body["discoverable_by_phone"]) == (
            "+4915112345678",
            True,
        )
        assert renamed.body["handle"] == zoe.handle
        assert api.get("/me", auth=zoe.token).body == renamed.body

    def test_a_new_user_is_not_discoverable_by_phone(self, api: Client) -> None:
        assert Member(api, "New").update_profile().body["discoverable_by_phone"] is False

    def test_a_handle_someone_has_is_a_409_in_any_case(self, api: Client) -> None:
        first, second = Member(api, "First"), Member(api, "Second")

        reply = second.update_profile(handle=first.handle.upper(), display_name="Changed")

        assert reply.status == 409
        assert reply.error_code == "handle_taken"
        assert api.get("/me", auth=second.token).body["display_name"] == "Second"


class TestFindingPeople:
    def test_people_are_found_by_a_prefix_of_any_word_without_case_or_accents(
        self, api: Client, tag: str
    ) -> None:
        searcher = Member(api, "Searcher")
        zoe = Member(api, f"Zoë Ångström {tag}")

        assert searcher.found(f"zoe {tag}") == [zoe.handle]
        assert searcher.found(f"{tag[:4]} ANGS") == [zoe.handle]
        assert searcher.found(f"{tag} smith") == []

    def test_the_exact_handle_comes_first_and_pages_follow_a_cursor(
        self, api: Client, tag: str
    ) -> None:
        searcher = Member(api, "Searcher")
        named = [Member(api, f"{tag.title()} {n}") for n in range(4)]
        exact = Member(api, "Someone Else")
        assert exact.update_profile(handle=tag).status == 200

        first = searcher.find(tag, limit=3)
        second = searcher.find(tag, limit=3, cursor=first.body["next_cursor"])

        handles = [u["handle"] for u in first.body["users"] + second.body["users"]]
        assert handles[0] == tag
        assert sorted(handles[1:]) == sorted(m.handle for m in named)
        assert second.body["next_cursor"] is None
        assert set(first.body["users"][0]) == {"id", "handle", "display_name", "photo"}

    def test_nobody_finds_themselves(self, api: Client, tag: str) -> None:
        me = Member(api, f"Me {tag}")

        assert me.found(tag) == []


class TestInvitingByHandle:
    def test_a_host_invites_a_guest_by_their_handle_in_any_case(self, api: Client) -> None:
        host, guest = Member(api, "Host"), Member(api, "Guest")
        party = host.create_party(in_hours(24), flat="BYHANDLE")

        reply = host.invite_by_handle(party, guest.handle.upper())

        assert reply.status == 201, reply
        assert reply.body["guest_id"] == guest.id
        assert guest.flats("invited") == ["BYHANDLE"]

    def test_an_unknown_handle_is_a_404_guest_not_found(self, api: Client) -> None:
        host = Member(api, "Host")
        party = host.create_party(in_hours(24))

        reply = host.invite_by_handle(party, "nobody_has_this_one")

        assert (reply.status, reply.error_code) == (404, "guest_not_found")


class TestInviteLinks:
    def test_a_guest_joins_by_link_and_joining_again_changes_nothing(self, api: Client) -> None:
        host, guest = Member(api, "Host"), Member(api, "Guest")
        party = host.create_party(in_hours(24), flat="LINKED")

        link = host.create_link(party, max_uses=5)
        joined = guest.join(link.body["token"])
        again = guest.join(link.body["token"])

        assert link.status == 201, link
        assert link.body["url"] == f"realm://join/{link.body['token']}"
        assert (link.body["uses"], link.body["max_uses"], link.body["expires_at"]) == (0, 5, None)
        assert (joined.status, joined.body["status"]) == (201, "invited")
        assert (again.status, again.body) == (200, joined.body)
        assert guest.flats("invited") == ["LINKED"]
        with db.transaction() as tx:
            uses = tx.scalar("SELECT uses FROM invite_links WHERE id = :i", i=link.body["link_id"])
        assert uses == 1

    def test_a_revoked_link_answers_exactly_as_an_unknown_one(self, api: Client) -> None:
        host, guest = Member(api, "Host"), Member(api, "Guest")
        party = host.create_party(in_hours(24))
        link = host.create_link(party).body

        revoked = host.revoke_link(link["link_id"])
        refused = guest.join(link["token"])
        unknown = guest.join(secrets.token_urlsafe(32))

        assert revoked.status == 200
        assert revoked.body["revoked_at"] is not None
        assert (refused.status, refused.body) == (404, unknown.body)
        assert refused.error_code == "link_not_found"

    def test_the_host_joining_their_own_link_is_a_422(self, api: Client) -> None:
        host = Member(api, "Host")
        link = host.create_link(host.create_party(in_hours(24))).body

        reply = host.join(link["token"])

        assert (reply.status, reply.error_code) == (422, "self_invite")

    def test_only_the_host_makes_or_revokes_links(self, api: Client) -> None:
        host, guest, stranger = Member(api, "Host"), Member(api, "Guest"), Member(api, "Other")
        party = host.create_party(in_hours(24))
        link = host.create_link(party).body
        guest.join(link["token"])

        assert guest.create_link(party).error_code == "not_host"
        assert stranger.create_link(party).error_code == "party_not_found"
        assert guest.revoke_link(link["link_id"]).error_code == "not_host"
        assert stranger.revoke_link(link["link_id"]).error_code == "link_not_found"

    def test_a_cancelled_or_past_party_cannot_be_joined(self, api: Client) -> None:
        host, guest = Member(api, "Host"), Member(api, "Guest")
        party = host.create_party(in_hours(24))
        token = host.create_link(party).body["token"]
        with db.transaction() as tx:
            tx.execute("UPDATE parties SET cancelled_at = now() WHERE id = :p", p=party)

        reply = guest.join(token)

        assert (reply.status, reply.error_code) == (422, "party_cancelled")


class TestBlocking:
    def test_a_block_hides_each_from_the_other_and_lifting_it_shows_them_again(
        self, api: Client, tag: str
    ) -> None:
        blocker, blocked = Member(api, f"Ann {tag}"), Member(api, f"Bob {tag}")
        assert blocker.found(f"bob {tag}") == [blocked.handle]

        assert blocker.block(blocked).status == 200
        assert blocker.block(blocked).status == 200, "blocking twice is fine"
        assert blocker.found(f"bob {tag}") == []
        assert blocked.found(f"ann {tag}") == []

        assert blocker.unblock(blocked).status == 200
        assert blocker.unblock(blocked).status == 200, "unblocking twice is fine"
        assert blocked.found(f"ann {tag}") == [blocker.handle]

    def test_the_blocked_cannot_invite_the_blocker_and_learn_nothing_from_trying(
        self, api: Client
    ) -> None:
        blocker, blocked = Member(api, "Blocker"), Member(api, "Blocked")
        party = blocked.create_party(in_hours(24))
        blocker.block(blocked)

        by_id = blocked.invite(party, blocker)
        by_handle = blocked.invite_by_handle(party, blocker.handle)
        unknown_id = blocked.api.post(
            "/create-invite",
            auth=blocked.token,
            json_body={"party_id": party, "guest_id": 2**62},
        )
        unknown_handle = blocked.invite_by_handle(party, "nobody_has_this_one")

        assert by_id.status == by_handle.status == 404
        assert by_id.body == by_handle.body == unknown_id.body == unknown_handle.body

    def test_the_blocked_cannot_make_the_blocker_a_cohost_and_learn_nothing_from_trying(
        self, api: Client
    ) -> None:
        blocker, blocked = Member(api, "Blocker"), Member(api, "Blocked")
        party = blocked.create_party(in_hours(24))
        blocker.block(blocked)

        refused = blocked.post("/add-cohost", party_id=party, user_id=blocker.id)
        unknown = blocked.post("/add-cohost", party_id=party, user_id=2**62)

        assert (refused.status, refused.error_code) == (404, "user_not_found")
        assert refused.body == unknown.body
        assert blocked.party(party).body["cohosts"] == []
        assert blocker.flats("hosting") == []

    def test_the_blocked_cannot_join_the_blockers_party_by_link(self, api: Client) -> None:
        host, blocked, friend = Member(api, "Host"), Member(api, "Blocked"), Member(api, "Friend")
        token = host.create_link(host.create_party(in_hours(24))).body["token"]
        host.block(blocked)

        refused = blocked.join(token)

        assert (refused.status, refused.error_code) == (404, "link_not_found")
        assert refused.body == blocked.join("no-such-token").body
        assert friend.join(token).status == 201

    def test_existing_invites_stay_after_a_block(self, api: Client) -> None:
        host, guest = Member(api, "Host"), Member(api, "Guest")
        host.invite(host.create_party(in_hours(24), flat="BEFORE"), guest)

        host.block(guest)

        assert guest.flats("invited") == ["BEFORE"]

    def test_blocking_yourself_is_a_422_and_an_unknown_user_a_404(self, api: Client) -> None:
        me = Member(api, "Me")

        assert (me.block(me).status, me.block(me).error_code) == (422, "self_block")
        assert (me.block(2**62).status, me.block(2**62).error_code) == (404, "user_not_found")


class TestMatchingContacts:
    def test_discoverable_contacts_are_found_with_the_number_sent_and_none_is_logged(
        self, api: Client, server_log: Path
    ) -> None:
        me = Member(api, "Me")
        found, shy = Member(api, "Found"), Member(api, "Shy")
        digits = f"{secrets.randbelow(10**8):08d}"
        found.update_profile(phone=f"+4915{digits}", discoverable_by_phone=True)
        shy.update_profile(phone=f"+4916{digits}")

        reply = me.match_contacts([f"+49 15{digits[:2]} {digits[2:]}", f"+4916{digits}"])

        assert reply.status == 200, reply
        assert reply.body["users"] == [
            {
                "id": found.id,
                "handle": found.handle,
                "display_name": "Found",
                "photo": None,
                "phone": f"+4915{digits}",
            }
        ]
        assert digits not in server_log.read_text()
