"""The bodies PostgreSQL renders (docs/decisions/0060) are the bodies the response models write.

list-parties, list-guests and find-users send JSON built by their SQL, not by pydantic. Each
test here renders a page over awkward data (a ready photo, a processing one, none; text with
quotes, backslashes, newlines, accents and emoji; nulls; microseconds), then checks that:

- the models accept it as it is (strictly: every field there, of its type), and writing it
  again through them gives the same values, timestamps in the same text;
- it holds what the objects of the domain code hold, as the models would write those
  (the URLs of the ready photos included).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from realm import db
from realm.db import Tx
from realm.edge import api_models
from realm.hosting import guests, parties
from realm.people import search
from tests.helpers import add_cohost, add_invite, add_party, add_user, in_hours

AWKWARD = 'Zoë\'s "flat" \\ 5 🎉\nsecond line\ttab'


def _photo(tx: Tx, user_id: int, status: str) -> None:
    photo_id = uuid.uuid4()
    keys = {size: f"photos/{user_id}/{photo_id}/{size}.webp" for size in ("display", "512", "128")}
    tx.execute(
        "INSERT INTO photos (id, owner_id, status, content_type, bytes, sha256, original_key,"
        " thumbnail_keys) VALUES (:id, :owner, :status, 'image/jpeg', 1, repeat('0', 64), 'o',"
        " CAST(:keys AS jsonb))",
        id=photo_id,
        owner=user_id,
        status=status,
        keys=json.dumps(keys if status == "ready" else {}),
    )
    tx.execute("UPDATE users SET photo_id = :p WHERE id = :u", p=photo_id, u=user_id)


@pytest.fixture
def cast(clean_db: None) -> dict[str, int]:
    """Hosts with a ready photo, a processing one and none; a guest invited to a party of each;
    the first host's party has guests of every status. Committed: the URLs are made after the
    connection is released, as the functions do."""
    with db.transaction() as tx:
        return _cast(tx)


def _cast(tx: Tx) -> dict[str, int]:
    ready = add_user(tx, "uid-ready", name=AWKWARD)
    processing = add_user(tx, "uid-processing", name="Ölaf")
    plain = add_user(tx, "uid-plain", name="Plain")
    guest = add_user(tx, "uid-guest", name="Guest")
    _photo(tx, ready, "ready")
    _photo(tx, processing, "processing")
    # Microseconds, and none: the models write them only when there are any.
    starts = [
        in_hours(30).replace(microsecond=250_000),
        in_hours(40).replace(microsecond=0),
        in_hours(50),
    ]
    ids = {}
    for host, start in zip((ready, processing, plain), starts, strict=True):
        party = add_party(tx, host, start, flat=AWKWARD)
        add_invite(tx, party, guest)
        ids[f"party_of_{host}"] = party
    party = ids[f"party_of_{ready}"]
    tx.execute(
        "UPDATE parties SET title = :t, description = :d, capacity = 40 WHERE id = :p",
        t=AWKWARD,
        d=AWKWARD + "\n\nAnd a paragraph.",
        p=party,
    )
    for n, status in enumerate(("confirmed", "declined", "waitlisted", "invited", "confirmed")):
        someone = add_user(tx, f"uid-g{n}", name=f"G{n} {AWKWARD}")
        if n == 0:
            _photo(tx, someone, "ready")
        invite = add_invite(tx, party, someone, status=status, plus_ones=int(status == "confirmed"))
        if status != "invited":
            tx.execute(
                "UPDATE invites SET responded_at = now() - interval '1 microsecond' * :n"
                " WHERE id = :i",
                n=n * 1000,
                i=invite,
            )
    add_cohost(tx, party, plain)
    return {"party": party, "guest": guest, "host": ready}


def _same_as_the_models(rendered: str, adapter: TypeAdapter[Any]) -> list[Any]:
    """The models read the body strictly and write it back unchanged."""
    parsed = adapter.validate_json(rendered, strict=True)
    assert json.loads(adapter.dump_json(parsed, by_alias=True)) == json.loads(rendered)
    return json.loads(rendered)  # type: ignore[no-any-return]


def _as_models_write(model: type[BaseModel], values: list[Any]) -> list[Any]:
    return [json.loads(model.model_validate(value).model_dump_json()) for value in values]


@pytest.mark.usefixtures("cast")
def test_list_parties_renders_what_the_party_models_write() -> None:
    with db.reading() as tx:
        page = parties.list_for(tx, "uid-guest", "invited", limit=2, cursor=None)
        rest = parties.list_for(tx, "uid-guest", "invited", limit=2, cursor=page.next_cursor)
    rendered = page.rendered.text()

    body = _same_as_the_models(rendered, TypeAdapter(list[api_models.PartyOut]))
    assert body == _as_models_write(api_models.PartyOut, page.parties)
    assert body[0]["host"]["photo"]["urls"]["512"].startswith("http")
    assert body[0]["first_entry"].endswith(".250000Z")
    assert "." not in body[1]["first_entry"]
    assert body[1]["first_entry"].endswith("Z")
    assert body[1]["host"]["photo"] == {
        "id": body[1]["host"]["photo"]["id"],
        "status": "processing",
        "urls": None,
    }
    assert page.next_cursor is not None
    third = _same_as_the_models(rest.rendered.text(), TypeAdapter(list[api_models.PartyOut]))
    assert third[0]["host"]["photo"] is None
    assert rest.next_cursor is None
    assert not rest.rendered.photos, "no ready photo: the body is passed on unparsed"


@pytest.mark.usefixtures("cast")
def test_the_hosting_view_renders_a_null_invite_status() -> None:
    with db.reading() as tx:
        page = parties.list_for(tx, "uid-ready", "hosting", limit=5, cursor=None)
    [party] = _same_as_the_models(page.rendered.text(), TypeAdapter(list[api_models.PartyOut]))
    assert party["invite_status"] is None
    assert party["description"] == AWKWARD + "\n\nAnd a paragraph."


def test_list_guests_renders_what_the_guest_models_write(cast: dict[str, int]) -> None:
    for status in (None, "confirmed"):
        with db.reading() as tx:
            page = guests.list_for(tx, "uid-ready", cast["party"], status, limit=3, cursor=None)
        body = _same_as_the_models(page.rendered.text(), TypeAdapter(list[api_models.GuestOut]))
        assert body == _as_models_write(api_models.GuestOut, page.guests)
        assert any(guest["responded_at"] for guest in body)
    with db.reading() as tx:
        everyone = guests.list_for(tx, "uid-ready", cast["party"], None, limit=50, cursor=None)
    statuses = [guest["status"] for guest in json.loads(everyone.rendered.text())]
    assert statuses == sorted(statuses), "grouped by status, in the index's order"
    assert everyone.next_cursor is None


@pytest.mark.usefixtures("cast")
def test_find_users_renders_what_the_user_summary_model_writes() -> None:
    with db.reading() as tx:
        page = search.find(tx, "uid-guest", "g", limit=2)
    body = _same_as_the_models(page.rendered.text(), TypeAdapter(list[api_models.UserSummaryOut]))
    assert body == _as_models_write(api_models.UserSummaryOut, page.users)
    assert len(body) == 2
    assert page.next_cursor is not None
    seen = [user["id"] for user in body]
    while page.next_cursor is not None:
        with db.reading() as tx:
            page = search.find(tx, "uid-guest", "g", limit=2, cursor=page.next_cursor)
        seen += [user["id"] for user in json.loads(page.rendered.text())]
    assert len(seen) == len(set(seen)) == 5, "G0-G4, each once; the caller never"


@pytest.mark.usefixtures("cast")
def test_a_rendered_timestamp_is_the_instant_it_stands_for() -> None:
    with db.reading() as tx:
        page = parties.list_for(tx, "uid-guest", "invited", limit=5, cursor=None)
        stored = tx.all(
            "SELECT p.first_entry FROM invites i JOIN parties p ON p.id = i.party_id"
            " WHERE i.guest_id = (SELECT id FROM users WHERE auth_uid = 'uid-guest')"
            " ORDER BY p.first_entry"
        )
    rendered = [datetime.fromisoformat(p["first_entry"]) for p in json.loads(page.rendered.raw)]
    assert rendered == [row["first_entry"] for row in stored]
