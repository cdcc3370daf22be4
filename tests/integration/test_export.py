"""export-my-data's document against PostgreSQL and a feed: everything stored about the caller,
nothing about anyone else beyond what the app shows them, and bounded."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from realm import db
from realm.accounts import devices, export
from realm.edge.api_models import ExportOut
from realm.errors import SignupRequired
from realm.events import outbox
from realm.events.notify import LocalFeed, Notification
from realm.hosting import calendar, cohosts, invites
from realm.media import photos
from realm.media.storage import MediaStore
from realm.people import blocks, links, profile
from tests.helpers import add_invite, add_party, add_user, in_hours
from tests.photo_samples import jpeg

pytestmark = pytest.mark.usefixtures("clean_db")


def exported(auth_uid: str, feed: LocalFeed) -> dict[str, Any]:
    """The document as the function sends it (its model, as JSON)."""
    document = ExportOut.model_validate(export.export(auth_uid, feed))
    return json.loads(document.model_dump_json())  # type: ignore[no-any-return]


def someone(tx: db.Tx, name: str) -> tuple[int, str]:
    auth_uid = f"{name.lower()}-{uuid.uuid4().hex[:6]}"
    user_id = add_user(tx, auth_uid, name)
    tx.execute(
        "UPDATE users SET phone = :p WHERE id = :id",
        p=f"+44770090{user_id % 10000:04d}",
        id=user_id,
    )
    return user_id, auth_uid


def test_the_export_holds_everything_stored_about_the_caller_and_nothing_else(
    bucket: MediaStore, tmp_path: Path
) -> None:
    feed = LocalFeed(tmp_path / "notify.sqlite3")
    uid = f"me-{uuid.uuid4().hex[:6]}"
    me = profile.sign_up(uid, "Zoë M", f"{uid}@example.test", "+4915112345678", None, bucket)
    profile.set_photo(uid, photos.accept(jpeg()), bucket)
    with outbox.transaction() as tx:
        (friend, friend_uid), (host, host_uid), (blocker, blocker_uid) = (
            someone(tx, n) for n in ["Friend", "Host", "Blocker"]
        )
        mine = add_party(tx, me.id, in_hours(30), flat="MINE", capacity=10)
        invites.create(tx, uid, party_id=mine, guest_id=friend)
        theirs = add_party(tx, host, in_hours(40), flat="THEIRS")
        cohosts.add(tx, host_uid, theirs, me.id)
        add_invite(tx, theirs, friend, "confirmed")
        elsewhere = add_party(tx, host, in_hours(50), flat="ELSEWHERE")
        invites.create(tx, host_uid, party_id=elsewhere, guest_id=me.id)
        links.create(tx, uid, party_id=mine, expires_at=None, max_uses=5)
        blocks.block(tx, uid, friend)
        blocks.block(tx, blocker_uid, me.id)  # never told: not in the export
        devices.register(tx, uid, "secret-fcm-token-of-my-phone", "ios")
        calendar.new_link(tx, uid)
    feed.add(uid, "n-1", Notification("invite-created", "You're invited", "b", 9, 3, in_hours(-1)))
    feed.add(friend_uid, "n-2", Notification("x", "not mine", "b", 9, None, in_hours(-1)))

    document = exported(uid, feed)

    assert document["profile"]["email"] == f"{uid}@example.test"
    assert document["profile"]["phone"] == "+4915112345678"
    assert document["profile"]["auth_uid"] == uid
    [photo] = document["photos"]
    assert (photo["status"], photo["content_type"]) == ("processing", "image/jpeg")
    parties = {p["flat"]: p for p in document["parties"]}
    assert {flat: p["role"] for flat, p in parties.items()} == {"MINE": "host", "THEIRS": "cohost"}
    assert [g["user"]["id"] for g in parties["MINE"]["guests"]] == [friend]
    assert parties["THEIRS"]["guests"][0]["status"] == "confirmed"
    assert parties["THEIRS"]["host"]["id"] == host
    assert [i["party"]["flat"] for i in document["invites"]] == ["ELSEWHERE"]
    assert [b["user"]["id"] for b in document["blocks"]] == [friend]
    assert [(link["party_id"], link["max_uses"]) for link in document["invite_links"]] == [
        (mine, 5)
    ]
    assert document["devices"] == [
        {"platform": "ios", "registered_at": document["devices"][0]["registered_at"]}
    ]
    assert document["calendar_link"] is not None
    assert [n["id"] for n in document["notifications"]] == ["n-1"]
    assert document["truncated"] == []
    text = json.dumps(document)
    assert "secret-fcm-token" not in text
    for other in (friend_uid, host_uid, blocker_uid):
        assert other not in text, "nobody else's uid or email"
    assert "+4477009" not in text, "nobody else's phone"
    assert str(blocker) not in {str(b["user"]["id"]) for b in document["blocks"]}


@pytest.mark.parametrize(
    ("bound", "kept", "complete"),
    [(5, [3, 2, 0], [True, False, False]), (6, [3, 3, 0], [True, True, False])],
    ids=["cut-within-a-list", "cut-between-lists"],
)
def test_a_large_hosts_export_is_bounded_and_says_where_it_was_cut(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bound: int,
    kept: list[int],
    complete: list[bool],
) -> None:
    monkeypatch.setitem(export.LIMITS, "parties", 3)
    monkeypatch.setitem(export.LIMITS, "guests", bound)
    uid = f"big-{uuid.uuid4().hex[:6]}"
    with db.transaction() as tx:
        host = add_user(tx, uid, "Big Host")
        guests = [add_user(tx, f"g-{n}-{uuid.uuid4().hex[:6]}") for n in range(3)]
        for hours in (10, 20, 30, 40):  # newest first in the export: 40, 30, 20
            party = add_party(tx, host, in_hours(hours), flat=f"P{hours}")
            for guest in guests:
                add_invite(tx, party, guest)

    document = exported(uid, LocalFeed(tmp_path / "notify.sqlite3"))

    assert [p["flat"] for p in document["parties"]] == ["P40", "P30", "P20"]
    assert [len(p["guests"]) for p in document["parties"]] == kept
    assert [p["guest_list_complete"] for p in document["parties"]] == complete
    assert sorted(document["truncated"]) == ["guests", "parties"]


def test_someone_who_never_signed_up_has_nothing_to_export(tmp_path: Path) -> None:
    with pytest.raises(SignupRequired):
        export.export("nobody-at-all", LocalFeed(tmp_path / "notify.sqlite3"))


def test_the_attachment_is_named_after_the_day_of_the_export() -> None:
    moment = datetime(2030, 1, 2, 23, 59, tzinfo=UTC)
    assert export.filename(moment) == "realm-data-2030-01-02.json"
