"""What both yardsticks share with each other (and nothing with Realm's code): the list query
of list-parties' "invited" view, its cursor, and the Firebase-shaped token check.

The SQL is a copy of the query ``realm.hosting.parties`` ran when issue 13 started (rows, not
JSON), in the ``$n`` placeholders asyncpg and psycopg both accept via their own quoting.
"""

from __future__ import annotations

import base64
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

LIST_SQL = """
SELECT p.id, p.flat, p.title, p.description, p.capacity, p.first_entry, p.last_entry,
       h.id AS host_id, h.handle AS host_handle, h.display_name AS host_display_name,
       ph.id AS photo_id, ph.status AS photo_status, ph.thumbnail_keys AS photo_keys,
       i.status AS invite_status
FROM invites i
JOIN parties p ON p.id = i.party_id
JOIN users h ON h.id = p.host_id
LEFT JOIN photos ph ON ph.id = h.photo_id
WHERE i.guest_id = (SELECT id FROM users WHERE auth_uid = {uid})
  AND i.screen = {status}
  AND i.party_first_entry > now() - interval '12 hours'
  AND (i.party_first_entry, i.party_id) > ({after_start}, {after_id})
  AND p.cancelled_at IS NULL
ORDER BY i.party_first_entry, i.party_id
LIMIT {limit}
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_CURSOR = (datetime(1, 1, 1, tzinfo=UTC), 0)


def encode_cursor(first_entry: datetime, party_id: int) -> str:
    micros = (first_entry - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{party_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    micros, party_id = text.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), int(party_id)


class Tokens:
    """RS256 tokens checked with PyJWT once each and remembered, as a small service would."""

    def __init__(self) -> None:
        self._key = Path(os.environ["YARDSTICK_PUBLIC_KEY"]).read_bytes()
        project = os.environ.get("REALM_PROJECT_ID", "realm-local")
        self._audience, self._issuer = project, f"https://securetoken.google.com/{project}"
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def uid(self, authorization: str | None) -> str | None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        uid = self._known.get(token)
        if uid is not None:
            return uid
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, ["RS256"], audience=self._audience, issuer=self._issuer
            )
        except jwt.InvalidTokenError:
            return None
        with self._lock:
            self._known[token] = str(claims["sub"])
        return str(claims["sub"])
