"""The account-deleted event's erasure (erase-account) against the storage emulator, the
Firestore emulator (and the local feed), the Firebase Auth emulator and PostgreSQL: each step
once, a redelivery doing only what is left, and notify-guest never writing again what the
erasure removed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from realm import db
from realm.accounts import deletion, identity
from realm.db import quotas
from realm.devstack import auth_emulator as firebase_auth
from realm.events import notify, outbox
from realm.events.notify import Feed, LocalFeed, Notification
from realm.media.storage import LocalDirectory, MediaStore
from tests.helpers import AUTH_EMULATOR_PROJECT, add_user
from tests.unit.test_notifications import event_message, invite_created_data, pushed

pytestmark = pytest.mark.usefixtures("clean_db")


class Identities:
    """Stands in for Firebase Auth: records deletions, and can be down for a while."""

    name = "recording"

    def __init__(self, down_for: int = 0) -> None:
        self.deleted: list[str] = []
        self.down_for = down_for

    def delete(self, auth_uid: str) -> bool:
        if self.down_for:
            self.down_for -= 1
            raise identity.IdentityUnavailable("Firebase Auth is down")
        self.deleted.append(auth_uid)
        return True


class CountingStore:
    """The emulator's bucket, recording the prefixes it was asked to delete."""

    def __init__(self, store: MediaStore) -> None:
        self.store = store
        self.listed: list[str] = []

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.store.put(key, data, content_type)

    def get(self, key: str) -> bytes:
        return self.store.get(key)

    def content_type(self, key: str) -> str:
        return self.store.content_type(key)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def keys(self, prefix: str) -> list[str]:
        return self.store.keys(prefix)

    def delete_prefix(self, prefix: str) -> int:
        self.listed.append(prefix)
        return self.store.delete_prefix(prefix)


def note(minutes: float = -1) -> Notification:
    """A notification of ``minutes`` from now (negative: before)."""
    return Notification(
        "invite-created", "t", "b", 1, 2, datetime.now(UTC) + timedelta(minutes=minutes)
    )


class Leaving:
    """Someone with photos, notifications, and a notification naming them in a guest's feed,
    and a neighbour with the same of their own, which must all stay."""

    def __init__(self, store: MediaStore, feed: Feed) -> None:
        self.uid, self.guest_uid = f"leaving-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
        with outbox.transaction() as tx:
            self.id = add_user(tx, self.uid, "Ysolde Quarrington")
            self.guest = add_user(tx, self.guest_uid)
            invited = outbox.add(
                tx,
                "invite-created",
                invite_created_data(
                    guest_id=self.guest,
                    guest_auth_uid=self.guest_uid,
                    host_id=self.id,
                    host_auth_uid=self.uid,
                    host_display_name="Ysolde Quarrington",
                ),
            )
        self.mention = (self.guest_uid, str(invited.event_id))
        for owner in (self.id, self.guest):
            for name in ("original", "display.webp"):
                store.put(f"photos/{owner}/{uuid.uuid4()}/{name}", b"image", "image/webp")
        feed.add(self.uid, "mine-1", note())
        feed.add(self.uid, "mine-2", note())
        feed.add(*self.mention, note())
        feed.add(self.guest_uid, "theirs", note())

    def delete(self) -> int:
        with outbox.transaction() as tx:
            return deletion.delete(tx, self.uid).erasure_id


def ids(feed: Feed, auth_uid: str) -> list[str]:
    return sorted(item["id"] for item in feed.recent(auth_uid, limit=100))


def erasure(erasure_id: int) -> dict[str, Any] | None:
    with db.reading() as tx:
        return tx.one("SELECT * FROM account_erasures WHERE id = :id", id=erasure_id)


def test_the_erasure_removes_photos_feed_and_mentions_and_the_sign_in_once(
    bucket: MediaStore, feed: Feed
) -> None:
    leaving, identities = Leaving(bucket, feed), Identities()
    erasure_id = leaving.delete()

    outcome = deletion.erase(erasure_id, store=bucket, feed=feed, identities=identities)

    assert outcome == "erased"
    assert bucket.keys(f"photos/{leaving.id}/") == []
    assert len(bucket.keys(f"photos/{leaving.guest}/")) == 2, "nobody else's photos"
    assert ids(feed, leaving.uid) == []
    assert ids(feed, leaving.guest_uid) == ["theirs"], "'Ysolde invited you' is gone"
    assert identities.deleted == [leaving.uid]
    done = erasure(erasure_id)
    assert done is not None
    assert {k for k, v in done.items() if v is not None} == {
        "id",
        "subject",
        "requested_at",
        "finished_at",
    }, "a finished erasure keeps only the uid's hash and its times"
    assert done["subject"] == quotas.subject_for(leaving.uid)

    again = deletion.erase(erasure_id, store=bucket, feed=feed, identities=identities)

    assert again == "duplicate"
    assert identities.deleted == [leaving.uid], "the sign-in account is deleted once"


def test_a_dependency_down_fails_the_event_and_the_redelivery_does_only_what_is_left(
    bucket: MediaStore, tmp_path: Path
) -> None:
    feed = LocalFeed(tmp_path / "notify.sqlite3")
    leaving, store, identities = Leaving(bucket, feed), CountingStore(bucket), Identities(1)
    erasure_id = leaving.delete()

    with pytest.raises(identity.IdentityUnavailable):
        deletion.erase(erasure_id, store=store, feed=feed, identities=identities)
    assert store.listed == [f"photos/{leaving.id}/"]
    assert ids(feed, leaving.uid) == []

    outcome = deletion.erase(erasure_id, store=store, feed=feed, identities=identities)

    assert outcome == "erased"
    assert store.listed == [f"photos/{leaving.id}/"], "the photos were not looked at again"
    assert identities.deleted == [leaving.uid]


def test_a_new_account_of_the_same_uid_keeps_what_it_was_told_and_its_sign_in(
    bucket: MediaStore, feed: Feed
) -> None:
    leaving, identities = Leaving(bucket, feed), Identities()
    erasure_id = leaving.delete()
    with db.transaction() as tx:
        add_user(tx, leaving.uid, "Back Again")  # signed up again before the erasure ran
    feed.add(leaving.uid, "welcome-back", note(minutes=+1))

    deletion.erase(erasure_id, store=bucket, feed=feed, identities=identities)

    assert ids(feed, leaving.uid) == ["welcome-back"]
    assert identities.deleted == [], "deleting it would lock them out of their new account"


def test_an_old_account_deleted_event_is_still_done_and_an_unusable_one_acknowledged(
    bucket: MediaStore, tmp_path: Path
) -> None:
    feed = LocalFeed(tmp_path / "notify.sqlite3")
    leaving = Leaving(bucket, feed)
    erasure_id = leaving.delete()
    old = event_message(
        "account-deleted", {"erasure_id": erasure_id}, datetime.now(UTC) - timedelta(days=30)
    )

    outcome = deletion.handle(pushed(old), store=bucket, feed=feed, identities=Identities())

    assert outcome == "erased", "an erasure is never too old to do"
    unusable_data: list[dict[str, Any]] = [
        {},
        {"erasure_id": "1"},
        {"erasure_id": True},
        {"erasure_id": 0},
    ]
    for data in unusable_data:
        unusable = pushed(event_message("account-deleted", data))
        assert deletion.handle(unusable, store=bucket, feed=feed) == "malformed"


@pytest.mark.parametrize("kind", ["storage-emulator", "local-directory"])
def test_deleting_a_users_photos_leaves_everyone_elses(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    store: MediaStore = (
        request.getfixturevalue("bucket")
        if kind == "storage-emulator"
        else LocalDirectory(tmp_path)
    )
    for key in ["photos/7/a/original", "photos/7/b/128.webp", "photos/70/c/original"]:
        store.put(key, b"image", "image/webp")

    assert store.delete_prefix("photos/7/") == 2
    assert store.keys("photos/") == ["photos/70/c/original"]
    for not_a_folder in ["photos/7", "", "/", "photos/../"]:
        with pytest.raises(ValueError, match="not a"):
            store.delete_prefix(not_a_folder)


# -- Firebase Auth: the Identity Toolkit admin API, as served by the Auth emulator ------------


def test_the_auth_emulator_deletes_the_sign_in_account_and_then_finds_none(
    auth_emulator: Any,
) -> None:
    uid = f"leaving-{uuid.uuid4().hex[:8]}"
    firebase_auth.id_token(auth_emulator.host, uid)  # signs in: the account exists
    toolkit = identity.IdentityToolkit(
        f"http://{auth_emulator.host}/identitytoolkit.googleapis.com",
        AUTH_EMULATOR_PROJECT,
        identity.EmulatorOwner(),
    )

    assert toolkit.delete(uid) is True
    assert toolkit.delete(uid) is False, "a redelivery finds it gone: done"
    assert firebase_auth.lookup(auth_emulator.host, AUTH_EMULATOR_PROJECT, uid) is None


def test_firebase_auth_unreachable_is_a_dependency_down_within_its_bound() -> None:
    from realm.devstack.ports import free_port

    toolkit = identity.IdentityToolkit(
        f"http://127.0.0.1:{free_port()}", "demo-x", identity.EmulatorOwner(), timeout=2
    )

    with pytest.raises(identity.IdentityUnavailable):
        toolkit.delete("anyone")


# -- notify-guest and events still on their way ---------------------------------------------


def an_event_about_someone_leaving(*, as_guest: bool) -> tuple[dict[str, Any], str]:
    """An invite-created event, five minutes old, for (or naming, as its host) someone whose
    account goes."""
    uid, guest = f"u-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    data = (
        invite_created_data(guest_auth_uid=uid)
        if as_guest
        else invite_created_data(host_auth_uid=uid, guest_auth_uid=guest)
    )
    message = event_message("invite-created", data, datetime.now(UTC) - timedelta(minutes=5))
    return message, uid


def forget(auth_uid: str) -> None:
    """What a deletion leaves for notify-guest to see: an erasure of the uid."""
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO account_erasures (subject, finished_at) VALUES (:s, now())",
            s=quotas.subject_for(auth_uid),
        )


@pytest.mark.parametrize("as_guest", [True, False], ids=["for-them", "naming-them"])
def test_an_event_about_an_account_deleted_since_is_neither_written_nor_pushed(
    tmp_path: Path, as_guest: bool
) -> None:
    feed = LocalFeed(tmp_path / "notify.sqlite3")
    message, uid = an_event_about_someone_leaving(as_guest=as_guest)
    forget(uid)

    assert notify.handle(pushed(message), feed) == "forgotten"
    assert ids(feed, message["data"]["guest_auth_uid"]) == []


def test_the_same_uid_signed_up_after_the_event_is_told_as_anyone(tmp_path: Path) -> None:
    uid = f"u-{uuid.uuid4().hex[:8]}"
    forget(uid)  # an earlier account of this uid was deleted; the event is newer
    message = event_message("invite-created", invite_created_data(guest_auth_uid=uid))

    assert notify.handle(pushed(message), LocalFeed(tmp_path / "notify.sqlite3")) == "created"


class RaceFeed(LocalFeed):
    """A feed whose write happens just as the account is deleted (between notify-guest's
    check and its write)."""

    def __init__(self, path: Path, meanwhile: Any) -> None:
        super().__init__(path)
        self.meanwhile = meanwhile

    def add_many(self, items: Sequence[tuple[str, str, Notification]]) -> int:
        created = super().add_many(items)
        self.meanwhile()
        return created


@pytest.mark.parametrize("as_guest", [True, False], ids=["for-them", "naming-them"])
def test_a_notification_written_as_the_account_went_is_undone(
    tmp_path: Path, as_guest: bool
) -> None:
    message, uid = an_event_about_someone_leaving(as_guest=as_guest)
    feed = RaceFeed(tmp_path / "notify.sqlite3", lambda: forget(uid))

    notify.handle(pushed(message), feed)

    assert ids(feed, message["data"]["guest_auth_uid"]) == []
