"""The caller's profile: signing up (with a profile photo when one is sent) and a new profile
photo later (``photo-upload``). The photo is checked at the door by ``realm.media.photos`` before
anything here runs.

The original is written to the media store before the transaction that records it, holding no
database connection while storage works (docs/decisions/0021): a read first (who the caller is,
whether their quota has room; for a sign-up, a user id reserved from the identity sequence,
because the object's key is ``photos/{user_id}/…`` and the user does not exist yet), then the
object, then one transaction with the rows and the event. A failed transaction deletes the
object again (``photos.deleted_on_failure``).
"""

from __future__ import annotations

from realm import db
from realm.db import quotas
from realm.errors import AlreadySignedUp
from realm.events import outbox
from realm.logs import log
from realm.media import photos, storage
from realm.people import users


def set_photo(
    auth_uid: str, upload: photos.Upload, store: storage.MediaStore | None = None
) -> photos.Accepted:
    """A new profile photo for the caller (only ever the caller's own)."""
    store = store or storage.store()
    with db.reading() as tx:
        user_id = users.id_for(tx, auth_uid)
        # Refused before the object is written; spent in the transaction that records it.
        quotas.check(tx, auth_uid, "photos")
    stored = photos.store_original(store, user_id, upload)
    with photos.deleted_on_failure(store, stored), outbox.transaction() as tx:
        quotas.spend(tx, auth_uid, "photos")
        photo_id = photos.record(tx, user_id, stored, upload)
    log.info("photo %s uploaded", photo_id, extra={"fields": {"photo_id": str(photo_id)}})
    return photos.Accepted(photo_id)


def sign_up(
    auth_uid: str,
    display_name: str,
    email: str,
    phone: str | None,
    photo: photos.Upload | None,
    store: storage.MediaStore | None = None,
    handle: str | None = None,
) -> users.User:
    """Sign-up, with the profile photo in the same transaction when one is sent."""
    if photo is None:
        with db.transaction() as plain:
            quotas.spend(plain, auth_uid, "signups")
            return users.sign_up(plain, auth_uid, display_name, email, phone, handle)
    store = store or storage.store()
    with db.reading() as tx:
        if users.exists(tx, auth_uid):
            raise AlreadySignedUp()
        quotas.check(tx, auth_uid, "signups")
        quotas.check(tx, auth_uid, "photos")
        user_id = users.reserve_id(tx)
    stored = photos.store_original(store, user_id, photo)
    with photos.deleted_on_failure(store, stored), outbox.transaction() as tx:
        quotas.spend(tx, auth_uid, "signups")
        quotas.spend(tx, auth_uid, "photos")
        user = users.sign_up(tx, auth_uid, display_name, email, phone, handle, user_id=user_id)
        photos.record(tx, user.id, stored, photo)
        user = users.get(tx, user.id)
    return user
