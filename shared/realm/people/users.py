"""Users: sign-up and the caller's own profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from realm.db import Tx, UniqueViolation
from realm.errors import (
    AlreadySignedUp,
    EmailTaken,
    HandleTaken,
    SignupRequired,
    UserNotFound,
)
from realm.media import urls as photo_urls
from realm.people import handles


@dataclass(frozen=True)
class PhotoRef:
    id: UUID
    status: str
    # When ready: "display", "512", "128" → object key.
    keys: Mapping[str, str] | None = None
    batch: photo_urls.Batch | None = field(default=None, compare=False, repr=False)

    @property
    def urls(self) -> dict[str, str] | None:
        """Size → URL (signed and time-limited in the cloud).

        Computed when the response is built, after the database connection is back in the
        pool: signing may be a call to IAM, and no connection should wait for it.
        """
        return (self.batch or photo_urls).urls_for(self.keys)

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> PhotoRef | None:
        """The photo of :func:`photo_json`, read back (its ``urls`` are still the keys)."""
        if value is None:
            return None
        return cls(UUID(value["id"]), value["status"], value["urls"])


def photo_ref(row: dict[str, Any], batch: photo_urls.Batch | None = None) -> PhotoRef | None:
    """The photo of a row selected with ``photo_id``, ``photo_status`` and ``photo_keys``."""
    if row["photo_id"] is None:
        return None
    status = str(row["photo_status"])
    keys = row["photo_keys"] if status == "ready" else None
    return PhotoRef(UUID(str(row["photo_id"])), status, keys, batch)


@dataclass(frozen=True)
class Summary:
    """How the API shows one user to another: never their email or phone (DESIGN §11)."""

    id: int
    handle: str
    display_name: str
    photo: PhotoRef | None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Summary:
        """The user of :func:`summary_json`, read back."""
        photo = PhotoRef.from_json(value["photo"])
        return cls(value["id"], value["handle"], value["display_name"], photo)


def summary(row: dict[str, Any], prefix: str, batch: photo_urls.Batch | None = None) -> Summary:
    """The summary in a row that selected ``<prefix>id``, ``<prefix>handle``,
    ``<prefix>display_name`` and the ``photo_*`` columns of ``photo_ref``."""
    return Summary(
        id=int(row[f"{prefix}id"]),
        handle=str(row[f"{prefix}handle"]),
        display_name=str(row[f"{prefix}display_name"]),
        photo=photo_ref(row, batch),
    )


def photo_json(photo: str) -> str:
    """SQL: the photo row aliased ``photo`` (LEFT JOINed: null when there is none) as
    ``PhotoOut``, except that a ready photo's ``urls`` holds its object keys, which
    ``realm.media.urls.Rendered`` turns into URLs once the connection is back in the pool."""
    return (
        f"CASE WHEN {photo}.id IS NULL THEN NULL ELSE json_build_object("
        f"'id', {photo}.id, 'status', {photo}.status, 'urls', CASE WHEN {photo}.status = 'ready'"
        f" AND {photo}.thumbnail_keys <> '{{}}' THEN {photo}.thumbnail_keys END) END"
    )


def summary_json(user: str, photo: str) -> str:
    """SQL: the users row aliased ``user`` as ``UserSummaryOut``, with its photo (see
    :func:`photo_json`)."""
    return (
        f"json_build_object('id', {user}.id, 'handle', {user}.handle,"
        f" 'display_name', {user}.display_name, 'photo', {photo_json(photo)})"
    )


def summary_of(tx: Tx, user_id: int) -> Summary | None:
    """The user as others see them, or None if there is no such user."""
    row = tx.one(
        "SELECT u.id, u.handle, u.display_name,"
        "       ph.id AS photo_id, ph.status AS photo_status, ph.thumbnail_keys AS photo_keys"
        " FROM users u LEFT JOIN photos ph ON ph.id = u.photo_id WHERE u.id = :id",
        id=user_id,
    )
    return None if row is None else summary(row, "")


@dataclass(frozen=True)
class User:
    id: int
    auth_uid: str
    handle: str
    display_name: str
    email: str
    phone: str | None
    discoverable_by_phone: bool
    is_host: bool
    photo: PhotoRef | None
    created_at: datetime


_SELECT_USER = """
SELECT u.id, u.auth_uid, u.handle, u.display_name, u.email, u.phone, u.discoverable_by_phone,
       u.created_at,
       EXISTS (SELECT 1 FROM party_hosts m WHERE m.user_id = u.id) AS is_host,
       ph.id AS photo_id, ph.status AS photo_status, ph.thumbnail_keys AS photo_keys
FROM users u
LEFT JOIN photos ph ON ph.id = u.photo_id
"""


def _user(row: dict[str, Any]) -> User:
    return User(
        id=int(row["id"]),
        auth_uid=str(row["auth_uid"]),
        handle=str(row["handle"]),
        display_name=str(row["display_name"]),
        email=str(row["email"]),
        phone=row["phone"] if row["phone"] is None else str(row["phone"]),
        discoverable_by_phone=bool(row["discoverable_by_phone"]),
        is_host=bool(row["is_host"]),
        photo=photo_ref(row),
        created_at=row["created_at"],
    )


_ID_FOR: dict[str | None, str] = {
    None: "SELECT id FROM users WHERE auth_uid = :uid",
    "FOR UPDATE": "SELECT id FROM users WHERE auth_uid = :uid FOR UPDATE",
    "FOR NO KEY UPDATE": "SELECT id FROM users WHERE auth_uid = :uid FOR NO KEY UPDATE",
}


def id_for(
    tx: Tx, auth_uid: str, *, lock: Literal["FOR UPDATE", "FOR NO KEY UPDATE"] | None = None
) -> int:
    """The caller's user id; callers who have not signed up may do nothing but sign up.
    ``lock`` also locks their row, until the transaction ends, in that mode."""
    user_id = tx.scalar(_ID_FOR[lock], uid=auth_uid)
    if user_id is None:
        raise SignupRequired()
    return int(user_id)


def exists(tx: Tx, auth_uid: str) -> bool:
    return tx.scalar("SELECT 1 FROM users WHERE auth_uid = :uid", uid=auth_uid) is not None


def reserve_id(tx: Tx) -> int:
    """A user id nobody else will get: a sign-up that stores a photo under
    ``photos/{user_id}/…`` before the user's row exists takes its id this way. Run it in a
    statement of its own: a sequence never rolls back, so an id reserved by a sign-up that then
    fails is simply never used."""
    return int(tx.scalar("SELECT nextval(pg_get_serial_sequence('users', 'id'))"))


def sign_up(
    tx: Tx,
    auth_uid: str,
    display_name: str,
    email: str,
    phone: str | None,
    handle: str | None = None,
    *,
    user_id: int | None = None,
) -> User:
    """Creates the caller's user with ``handle``, or one made from the display name.

    ``handle`` is canonical already (``handles.canonical``); taken, it is a 409 ``handle_taken``.
    ``user_id``: an id from ``reserve_id``; by default the next one.
    """
    for candidate in [handle] if handle is not None else handles.candidates(display_name):
        try:
            # Only a handle clash is skipped here; any other clash (uid, email) raises.
            created = tx.scalar(
                "INSERT INTO users (id, auth_uid, display_name, email, phone, handle)"
                " VALUES (COALESCE(CAST(:id AS bigint), nextval(pg_get_serial_sequence("
                "   'users', 'id'))), :uid, :name, :email, :phone, :handle)"
                " ON CONFLICT (handle) DO NOTHING RETURNING id",
                id=user_id,
                uid=auth_uid,
                name=display_name,
                email=email,
                phone=phone,
                handle=candidate,
            )
        except UniqueViolation as clash:
            if clash.constraint == "users_email_key":
                raise EmailTaken() from None
            raise AlreadySignedUp() from None
        if created is not None:
            return get(tx, int(created))
    raise HandleTaken()


# What update-profile may change: column -> its value (absent fields are not in the mapping).
ProfileChanges = Mapping[str, str | bool | None]
_UPDATABLE = ("display_name", "handle", "phone", "discoverable_by_phone")


def update(tx: Tx, auth_uid: str, changes: ProfileChanges) -> User:
    """Changes the given fields of the caller's profile and leaves the others as they are.

    ``handle`` is canonical already; one that belongs to someone else is ``HandleTaken``.
    """
    unknown = set(changes) - set(_UPDATABLE)
    assert not unknown, f"not a profile field: {unknown}"
    # One statement whatever the fields: each column keeps its value unless its flag is set.
    values = {name: changes.get(name) for name in _UPDATABLE}
    flags = {f"set_{name}": name in changes for name in _UPDATABLE}
    try:
        user_id = tx.scalar(
            "UPDATE users SET"
            " display_name = CASE WHEN :set_display_name THEN CAST(:display_name AS text)"
            "   ELSE display_name END,"
            " handle = CASE WHEN :set_handle THEN CAST(:handle AS text) ELSE handle END,"
            " phone = CASE WHEN :set_phone THEN CAST(:phone AS text) ELSE phone END,"
            " discoverable_by_phone = CASE WHEN :set_discoverable_by_phone"
            "   THEN CAST(:discoverable_by_phone AS boolean) ELSE discoverable_by_phone END,"
            " updated_at = now()"
            " WHERE auth_uid = :uid RETURNING id",
            uid=auth_uid,
            **values,
            **flags,
        )
    except UniqueViolation as clash:
        if clash.constraint == "users_handle_key":
            raise HandleTaken() from None
        raise
    if user_id is None:
        raise SignupRequired()
    return get(tx, int(user_id))


def get(tx: Tx, user_id: int) -> User:
    row = tx.one(_SELECT_USER + " WHERE u.id = :id", id=user_id)
    if row is None:
        raise UserNotFound()
    return _user(row)


def me(tx: Tx, auth_uid: str) -> User:
    row = tx.one(_SELECT_USER + " WHERE u.auth_uid = :uid", uid=auth_uid)
    if row is None:
        raise SignupRequired()
    return _user(row)
