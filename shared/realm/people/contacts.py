"""match-contacts: which of the caller's contacts are on Realm (DESIGN §12).

Only users who turned on ``discoverable_by_phone`` are found; never the caller, never anyone
across a block. The numbers sent are compared and forgotten: nothing here stores them (the
quota counts how many, not which) or logs them, and an error about one never repeats it.

The numbers are normalised to E.164 before they get here (``realm.people.phones``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from realm.db import Tx, quotas
from realm.media import urls
from realm.people import blocks
from realm.people.users import Summary, id_for, summary


@dataclass(frozen=True)
class Match(Summary):
    """A user the caller's contacts hold: their summary and the number, one the caller sent."""

    phone: str


_MATCH_SQL = f"""
SELECT u.id, u.handle, u.display_name, u.phone,
       ph.id AS photo_id, ph.status AS photo_status, ph.thumbnail_keys AS photo_keys
FROM users u
LEFT JOIN photos ph ON ph.id = u.photo_id
WHERE u.phone = ANY (string_to_array(CAST(:phones AS text), ','))
  AND u.discoverable_by_phone AND u.phone IS NOT NULL
  AND u.id <> :me
  AND u.id <> ALL ({blocks.hidden_ids_sql(":me")})
ORDER BY u.phone, u.id
"""


def match(tx: Tx, auth_uid: str, numbers: Sequence[str]) -> list[Match]:
    """The discoverable users whose number is one of ``numbers`` (E.164 already, see
    ``phones.normalize``). Each distinct number costs one of the caller's ``contacts`` quota,
    spent in ``tx``: over it, ``RateLimited`` and nothing is looked up."""
    me = id_for(tx, auth_uid)
    distinct = sorted(set(numbers))
    if not distinct:
        return []
    quotas.spend(tx, auth_uid, "contacts", len(distinct))
    # One text of E.164 numbers (which hold no comma), split by the server: pg8000 takes 2 ms to
    # send a 500-element array parameter, a joined string nothing.
    rows = tx.all(_MATCH_SQL, me=me, phones=",".join(distinct))
    batch = urls.Batch(row["photo_keys"] for row in rows if row["photo_status"] == "ready")
    found = []
    for row in rows:
        user = summary(row, "", batch)
        found.append(Match(user.id, user.handle, user.display_name, user.photo, str(row["phone"])))
    return found
