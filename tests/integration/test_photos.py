"""Photos in the shared layer, against the real database and the storage emulator: the upload
door, the transaction that records an upload, and make-thumbnail's idempotent work."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from realm import db, errors
from realm.config import settings
from realm.events import inbound
from realm.hosting import parties
from realm.media import photos, storage
from realm.people import profile, users
from tests import photo_samples as samples
from tests.helpers import add_party, add_user, in_hours, uid

pytestmark = pytest.mark.usefixtures("clean_db")


def _user(name: str = "Photographer") -> tuple[str, int]:
    auth_uid = uid(name.lower())
    with db.transaction() as tx:
        return auth_uid, add_user(tx, auth_uid, name)


def _row(photo_id: uuid.UUID) -> dict[str, Any]:
    with db.transaction() as tx:
        row = tx.one("SELECT * FROM photos WHERE id = :id", id=photo_id)
    assert row is not None
    return row


def _event(photo_id: uuid.UUID) -> photos.PhotoUploaded:
    with db.transaction() as tx:
        event_id = tx.scalar(
            "SELECT event_id FROM outbox"
            " WHERE type = 'photo-uploaded' AND message->'data'->>'photo_id' = :id",
            id=str(photo_id),
        )
    return photos.PhotoUploaded(uuid.UUID(str(event_id)), photo_id)


def _count(sql: str, **params: Any) -> int:
    with db.transaction() as tx:
        return int(tx.scalar(sql, **params))


def test_an_upload_stores_the_original_and_commits_row_event_and_profile_photo_together(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, user_id = _user()
    data = samples.jpeg()

    accepted = profile.set_photo(auth_uid, photos.accept(data))

    row = _row(accepted.photo_id)
    assert (row["status"], row["owner_id"], row["content_type"]) == (
        "processing",
        user_id,
        "image/jpeg",
    )
    assert row["bytes"] == len(data)
    assert bucket.get(row["original_key"]) == data
    assert row["original_key"] == f"photos/{user_id}/{accepted.photo_id}/original"
    with db.transaction() as tx:
        assert users.get(tx, user_id).photo == users.PhotoRef(accepted.photo_id, "processing")
    assert _event(accepted.photo_id).event_id


def test_make_thumbnail_marks_the_photo_ready_with_thumbnails_that_decode_at_their_sizes(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, user_id = _user()
    accepted = profile.set_photo(auth_uid, photos.accept(samples.jpeg((2000, 1500))))

    outcome = photos.handle_uploaded(_event(accepted.photo_id))

    assert outcome == "ready"
    row = _row(accepted.photo_id)
    assert (row["status"], row["width"], row["height"]) == ("ready", 2000, 1500)
    prefix = f"photos/{user_id}/{accepted.photo_id}/"
    assert row["thumbnail_keys"] == {
        "display": prefix + "display.webp",
        "512": prefix + "512.webp",
        "128": prefix + "128.webp",
    }
    sizes = {
        name: samples.decode(bucket.get(key)).size for name, key in row["thumbnail_keys"].items()
    }
    assert sizes == {"display": (1280, 960), "512": (512, 512), "128": (128, 128)}


def test_the_same_event_delivered_three_times_leaves_one_set_of_thumbnails(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, user_id = _user()
    accepted = profile.set_photo(auth_uid, photos.accept(samples.png()))
    event = _event(accepted.photo_id)

    outcomes = [photos.handle_uploaded(event) for _ in range(3)]

    assert outcomes == ["ready", "duplicate", "duplicate"]
    assert bucket.keys(f"photos/{user_id}/") == [
        f"photos/{user_id}/{accepted.photo_id}/{name}"
        for name in ("128.webp", "512.webp", "display.webp", "original")
    ]
    processed = "SELECT count(*) FROM processed_events WHERE event_id = :e"
    assert _count(processed, e=event.event_id) == 1


def test_concurrent_deliveries_of_one_event_mark_the_photo_ready_once(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, user_id = _user()
    accepted = profile.set_photo(auth_uid, photos.accept(samples.jpeg((1600, 1200))))
    event = _event(accepted.photo_id)
    start = threading.Barrier(3)
    outcomes: list[str] = []

    def deliver() -> None:
        start.wait()
        outcomes.append(photos.handle_uploaded(event))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["duplicate", "duplicate", "ready"]
    assert len(bucket.keys(f"photos/{user_id}/")) == 4
    assert _row(accepted.photo_id)["status"] == "ready"


def test_an_image_that_only_a_decoder_finds_broken_ends_rejected_with_a_reason(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, user_id = _user()
    accepted = profile.set_photo(auth_uid, photos.accept(samples.png_with_corrupt_pixels()))

    outcome = photos.handle_uploaded(_event(accepted.photo_id))

    row = _row(accepted.photo_id)
    assert outcome == "rejected"
    assert (row["status"], row["rejected_reason"]) == (
        "rejected",
        "The image could not be decoded.",
    )
    assert bucket.keys(f"photos/{user_id}/") == [f"photos/{user_id}/{accepted.photo_id}/original"]


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (samples.truncated_jpeg(), errors.RuleViolation, "undecodable_image"),
        (samples.gif(), errors.UnsupportedMedia, "unsupported_media_type"),
        (samples.pdf(), errors.UnsupportedMedia, "unsupported_media_type"),
        (samples.text_file(), errors.UnsupportedMedia, "unsupported_media_type"),
        (samples.png_declaring(100_000, 100_000), errors.RuleViolation, "too_many_pixels"),
    ],
    ids=["truncated-jpeg", "gif", "pdf", "text", "pixel-bomb"],
)
def test_the_door_refuses_bad_images_before_anything_is_stored(
    bucket: storage.MediaStore, data: bytes, error: type[errors.DomainError], code: str
) -> None:
    with pytest.raises(error) as refused:
        photos.accept(data)

    assert refused.value.code == code
    assert bucket.keys("") == []
    assert _count("SELECT count(*) FROM photos") == 0


@pytest.mark.parametrize(
    "text",
    ["not base64 at all!", "data:image/png;base64,%%%%", "", "   "],
    ids=["garbage", "data-url-garbage", "empty", "blank"],
)
def test_invalid_base64_is_refused(text: str) -> None:
    with pytest.raises(errors.RuleViolation) as refused:
        photos.from_base64(text)

    assert refused.value.code == "invalid_base64"


def test_base64_is_accepted_with_a_data_url_prefix_line_breaks_or_the_url_safe_alphabet() -> None:
    import base64

    data = samples.jpeg((64, 64))
    plain = base64.b64encode(data).decode()
    wrapped = "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76))

    assert photos.from_base64("data:image/jpeg;base64," + plain) == data
    assert photos.from_base64(wrapped) == data
    assert photos.from_base64(base64.urlsafe_b64encode(data).decode().rstrip("=")) == data


def test_an_image_over_the_size_limit_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    small = dataclasses.replace(settings, max_upload_bytes=1024)
    monkeypatch.setattr(photos, "settings", small)

    with pytest.raises(errors.TooLarge):
        photos.accept(samples.jpeg())
    with pytest.raises(errors.TooLarge):
        photos.from_base64("A" * 4000)


def test_a_caller_who_has_not_signed_up_stores_nothing(bucket: storage.MediaStore) -> None:
    with pytest.raises(errors.SignupRequired):
        profile.set_photo(uid("stranger"), photos.accept(samples.jpeg()))

    assert bucket.keys("") == []
    assert _count("SELECT count(*) FROM photos") == 0


def test_a_failed_signup_with_a_photo_leaves_neither_object_nor_row(
    bucket: storage.MediaStore,
) -> None:
    profile.sign_up(uid("first"), "First", "same@example.test", None, None)

    with pytest.raises(errors.Conflict):
        profile.sign_up(
            uid("second"), "Second", "same@example.test", None, photos.accept(samples.jpeg())
        )

    assert bucket.keys("") == []
    assert _count("SELECT count(*) FROM photos") == 0


def test_signup_with_a_photo_makes_it_the_new_users_profile_photo(
    bucket: storage.MediaStore,
) -> None:
    user = profile.sign_up(
        uid("new"), "New", "new@example.test", None, photos.accept(samples.webp())
    )

    assert user.photo is not None
    assert user.photo.status == "processing"
    assert bucket.keys(f"photos/{user.id}/") == [f"photos/{user.id}/{user.photo.id}/original"]


def test_a_new_upload_replaces_only_the_callers_own_profile_photo(
    bucket: storage.MediaStore,
) -> None:
    alice_uid, alice_id = _user("Alice")
    bob_uid, bob_id = _user("Bob")
    alices = profile.set_photo(alice_uid, photos.accept(samples.jpeg()))

    bobs = profile.set_photo(bob_uid, photos.accept(samples.png()))

    with db.transaction() as tx:
        alice, bob = users.get(tx, alice_id), users.get(tx, bob_id)
    assert alice.photo is not None
    assert bob.photo is not None
    assert (alice.photo.id, bob.photo.id) == (alices.photo_id, bobs.photo_id)
    assert _row(bobs.photo_id)["owner_id"] == bob_id


def test_the_database_refuses_another_users_photo_as_a_profile_photo(
    bucket: storage.MediaStore,
) -> None:
    alice_uid, _ = _user("Alice")
    _, bob_id = _user("Bob")
    alices = profile.set_photo(alice_uid, photos.accept(samples.jpeg()))

    with pytest.raises(Exception, match="users_photo_owner_fk"), db.transaction() as tx:
        tx.execute(
            "UPDATE users SET photo_id = :photo WHERE id = :bob", photo=alices.photo_id, bob=bob_id
        )


def test_me_shows_the_photo_status_and_once_ready_its_urls(bucket: storage.MediaStore) -> None:
    auth_uid, user_id = _user()
    accepted = profile.set_photo(auth_uid, photos.accept(samples.jpeg()))
    with db.transaction() as tx:
        before = users.me(tx, auth_uid).photo

    photos.handle_uploaded(_event(accepted.photo_id))

    with db.transaction() as tx:
        after = users.me(tx, auth_uid).photo
    assert before == users.PhotoRef(accepted.photo_id, "processing")
    assert after is not None
    assert after.status == "ready"
    assert after.urls is not None
    base = f"{settings.public_base_url}/media/photos/{user_id}/{accepted.photo_id}"
    assert after.urls == {
        "display": f"{base}/display.webp",
        "512": f"{base}/512.webp",
        "128": f"{base}/128.webp",
    }


def test_a_partys_host_carries_the_photo_urls(bucket: storage.MediaStore) -> None:
    host_uid, host_id = _user("Host")
    guest_uid, guest_id = _user("Guest")
    accepted = profile.set_photo(host_uid, photos.accept(samples.jpeg()))
    photos.handle_uploaded(_event(accepted.photo_id))
    with db.transaction() as tx:
        party_id = add_party(tx, host_id, in_hours(24))
        tx.execute(
            "INSERT INTO invites (party_id, party_first_entry, guest_id)"
            " SELECT id, first_entry, :g FROM parties WHERE id = :p",
            g=guest_id,
            p=party_id,
        )
        page = parties.list_for(tx, guest_uid, "invited", limit=10, cursor=None)

    photo = page.parties[0].host.photo
    assert photo is not None
    assert photo.status == "ready"
    assert photo.urls is not None
    assert set(photo.urls) == {"display", "512", "128"}


def test_an_event_of_another_type_is_unusable() -> None:
    event = inbound.InboundEvent(
        event_id=uuid.uuid4(), type="invite-created", occurred_at=datetime.now(UTC), data={}
    )

    with pytest.raises(inbound.Unusable):
        photos.photo_uploaded(event)


# -- the original is stored before the transaction that records it (issue 12) --------------------


class Watched:
    """The media store, noting how many transactions were open in the database at each put."""

    def __init__(self, store: storage.MediaStore) -> None:
        self._store = store
        self.open_at_put: list[int] = []

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with db.reading() as tx:
            self.open_at_put.append(
                int(
                    tx.scalar(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND state LIKE 'idle in transaction%'"
                    )
                )
            )
        self._store.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_an_upload_writes_the_original_while_no_transaction_is_open(
    bucket: storage.MediaStore,
) -> None:
    auth_uid, _ = _user()
    watched = Watched(bucket)

    accepted = profile.set_photo(auth_uid, photos.accept(samples.jpeg()), store=watched)

    assert watched.open_at_put == [0]
    assert bucket.get(_row(accepted.photo_id)["original_key"])


def test_a_signup_with_a_photo_writes_it_while_no_transaction_is_open_under_the_new_users_id(
    bucket: storage.MediaStore,
) -> None:
    watched = Watched(bucket)

    user = profile.sign_up(
        uid("early"), "Early", "early@example.test", None, photos.accept(samples.png()), watched
    )

    assert watched.open_at_put == [0]
    assert user.photo is not None
    assert _row(user.photo.id)["original_key"] == f"photos/{user.id}/{user.photo.id}/original"


def test_a_signup_by_someone_signed_up_already_stores_nothing(bucket: storage.MediaStore) -> None:
    auth_uid, _ = _user()

    with pytest.raises(errors.AlreadySignedUp):
        profile.sign_up(
            auth_uid, "Again", "again@example.test", None, photos.accept(samples.jpeg())
        )

    assert bucket.keys("") == []


def test_an_upload_over_the_quota_stores_nothing(
    bucket: storage.MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realm.db import quotas

    monkeypatch.setitem(quotas.QUOTAS, "photos", quotas.Quota("photos", 1, 3600))
    auth_uid, _ = _user()
    profile.set_photo(auth_uid, photos.accept(samples.jpeg()))
    stored = bucket.keys("")

    with pytest.raises(errors.RateLimited):
        profile.set_photo(auth_uid, photos.accept(samples.jpeg()))

    assert bucket.keys("") == stored


class Recorded:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, key: str) -> None:
        self.deleted.append(key)


def test_a_failed_recording_deletes_the_stored_original() -> None:
    store = Recorded()
    stored = photos.Stored(uuid.uuid4(), "photos/1/p/original")

    with pytest.raises(errors.RateLimited), photos.deleted_on_failure(store, stored):  # type: ignore[arg-type]
        raise errors.RateLimited(5)

    assert store.deleted == ["photos/1/p/original"]


def test_an_original_stays_when_the_commit_may_have_happened() -> None:
    store = Recorded()
    stored = photos.Stored(uuid.uuid4(), "photos/1/p/original")

    with (
        pytest.raises(db.DatabaseUnavailable),
        photos.deleted_on_failure(store, stored),  # type: ignore[arg-type]
    ):
        raise db.DatabaseUnavailable("lost during COMMIT", broken=True, commit_unknown=True)

    assert store.deleted == [], "the row may exist: deleting would leave it without its image"
