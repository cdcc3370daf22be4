"""Devices: the FCM registration tokens the app registers, one per installation.

The app registers its token at every start and whenever FCM gives it a new one, and
unregisters it at sign-out. A token is one installation, so it belongs to one user at a time:
registered by someone else (another account signed in on that phone), it moves to them. A user
keeps at most ``MAX_PER_USER`` devices; registering one more drops the one registered least
recently (an installation long gone, most likely). Push delivery (``realm.events.push``)
deletes the tokens FCM reports dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from realm.db import Tx, quotas
from realm.people import users

MAX_PER_USER = 10
Platform = Literal["ios", "android", "web"]


@dataclass(frozen=True)
class Device:
    platform: str
    registered_at: datetime


def register(tx: Tx, auth_uid: str, token: str, platform: Platform) -> Device:
    """Registers ``token`` for the caller (again: it is only refreshed), moving it from anyone
    else who had it, and drops the caller's least recently registered devices beyond ten."""
    # Locks the caller's row so that two registrations of theirs at once count their devices
    # one after the other: otherwise each could keep ten of its own view, and eleven remain.
    user_id = users.id_for(tx, auth_uid, lock="FOR NO KEY UPDATE")
    quotas.spend(tx, auth_uid, "devices")
    row = tx.one(
        "INSERT INTO devices (user_id, token, platform) VALUES (:user, :token, :platform)"
        " ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id,"
        " platform = EXCLUDED.platform, registered_at = now()"
        " RETURNING platform, registered_at",
        user=user_id,
        token=token,
        platform=platform,
    )
    assert row is not None
    tx.execute(
        "DELETE FROM devices WHERE user_id = :user AND id NOT IN ("
        " SELECT id FROM devices WHERE user_id = :user"
        " ORDER BY registered_at DESC, id DESC LIMIT :keep)",
        user=user_id,
        keep=MAX_PER_USER,
    )
    return Device(str(row["platform"]), row["registered_at"])


def unregister(tx: Tx, auth_uid: str, token: str) -> bool:
    """Removes the caller's ``token``; True if it was theirs. Someone else's token, or an
    unknown one, is left alone and answers the same as a token already removed."""
    user_id = users.id_for(tx, auth_uid, lock="FOR NO KEY UPDATE")
    removed = tx.execute(
        "DELETE FROM devices WHERE token = :token AND user_id = :user", token=token, user=user_id
    )
    return removed > 0


def of_user(tx: Tx, auth_uid: str) -> list[dict[str, object]]:
    """The user's devices (token, platform, registered_at), most recently registered first."""
    return tx.all(
        "SELECT d.token, d.platform, d.registered_at FROM devices d"
        " JOIN users u ON u.id = d.user_id WHERE u.auth_uid = :uid"
        " ORDER BY d.registered_at DESC, d.id DESC",
        uid=auth_uid,
    )
