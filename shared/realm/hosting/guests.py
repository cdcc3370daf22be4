"""A party's guest list (list-guests; removing a guest is in realm.hosting.changes).

Who sees what (DESIGN §11): the host and co-hosts see every invite, with its status; an invited
guest sees the confirmed guests only, and only when the host made the list visible
(``guest_list_hidden`` 403 otherwise); anyone else is told the party does not exist.

The list is grouped by status (in the order confirmed, declined, invited, waitlisted: the
statuses' names in order, which is what lets the whole list be one range of one index), each
group in the order of the guests' answers: the waitlisted read in the order they will be
promoted. Each page is one range scan of ``invites_party_guests``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import cursors
from realm.db import Tx, render
from realm.errors import GuestListHidden, InvalidCursor, PartyNotFound
from realm.hosting import roles
from realm.media import urls
from realm.people.users import Summary, summary_json

Status = Literal["invited", "confirmed", "declined", "waitlisted"]
STATUSES: frozenset[str] = frozenset({"invited", "confirmed", "declined", "waitlisted"})


@dataclass(frozen=True)
class Guest:
    user: Summary
    status: str
    plus_ones: int
    responded_at: datetime | None

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Guest:
        """A guest of a rendered page (``api_models.GuestOut``), read back."""
        answered = value["responded_at"]
        return cls(
            Summary.from_json(value["user"]),
            value["status"],
            value["plus_ones"],
            None if answered is None else datetime.fromisoformat(answered),
        )


@dataclass(frozen=True)
class Page:
    # The guests as the API sends them: a JSON array of api_models.GuestOut, rendered by
    # PostgreSQL (docs/decisions/0060).
    rendered: urls.Rendered
    next_cursor: str | None

    @property
    def guests(self) -> list[Guest]:
        """The guests as objects, for Python callers (the function sends ``rendered``)."""
        return [Guest.from_json(value) for value in json.loads(self.rendered.raw)]


_COLUMNS = f"""
    json_build_object('user', {summary_json("u", "ph")}, 'status', i.status,
        'plus_ones', i.plus_ones, 'responded_at', {render.time("i.responded_at")}) AS guest,
    i.status, i.answer_seq, ph.status AS photo_status
"""

# The whole list, and one status of it; both a range of invites_party_guests, in its order.
_ALL = f"""
SELECT {_COLUMNS}
FROM invites i
JOIN users u ON u.id = i.guest_id
LEFT JOIN photos ph ON ph.id = u.photo_id
WHERE i.party_id = :party AND (i.status, i.answer_seq) > (:after_status, :after_seq)
ORDER BY i.status, i.answer_seq
LIMIT :limit
"""

_ONE_STATUS = f"""
SELECT {_COLUMNS}
FROM invites i
JOIN users u ON u.id = i.guest_id
LEFT JOIN photos ph ON ph.id = u.photo_id
WHERE i.party_id = :party AND i.status = :status AND i.answer_seq > :after_seq
ORDER BY i.answer_seq
LIMIT :limit
"""


def list_sql(status: Status | None) -> str:
    cursor = {"last_status": "status", "last_seq": "answer_seq"}
    if status is None:
        return render.page(_ALL, "guest", "status, answer_seq", cursor)
    return render.page(_ONE_STATUS, "guest", "answer_seq", cursor)  # one status: in seq order


# The caller, their role in the party, and whether the host shows its guests the list: one
# statement.
_VIEWER = roles.caller_sql("p.guest_list_visible")


def visible_status(role: roles.Role, list_visible: bool, status: Status | None) -> Status | None:
    """The status the caller may list (None: all of them), or ``GuestListHidden``;
    ``list_visible`` is the party's ``guest_list_visible``."""
    if role in roles.MANAGERS:
        return status
    if not list_visible:
        raise GuestListHidden("The host keeps this guest list to themselves.")
    if status not in (None, "confirmed"):
        raise GuestListHidden("Guests see who is confirmed; the rest is for the hosts.")
    return "confirmed"


def list_for(
    tx: Tx,
    auth_uid: str,
    party_id: int,
    status: Status | None,
    *,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of the party's guest list, as the caller may see it."""
    found = tx.one(_VIEWER, uid=auth_uid, party=party_id)
    role = roles.caller_from(found).role  # SignupRequired when there is no row
    if role is None:
        raise PartyNotFound()
    assert found is not None, "caller_from raised SignupRequired otherwise"
    shown = visible_status(role, bool(found["guest_list_visible"]), status)
    after_status, after_seq = cursors.decode_named(cursor, STATUSES) if cursor else ("", 0)
    params: dict[str, Any] = dict(party=party_id, after_seq=after_seq, limit=limit + 1)
    if shown is None:
        params["after_status"] = after_status
    else:
        params["status"] = shown
        if cursor and after_status != shown:
            raise InvalidCursor("This cursor belongs to another list.")
    page = tx.one(list_sql(shown), **params)
    assert page is not None, "an aggregate gives one row"
    more = page["found"] > limit
    next_cursor = cursors.encode_named(page["last_status"], page["last_seq"]) if more else None
    return Page(urls.Rendered(page["items"], page["photos"]), next_cursor)
