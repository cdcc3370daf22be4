"""list-guests: a party's guest list, as the caller may see it (DESIGN §11)."""

from realm import db, errors
from realm.edge.api_models import GuestPageOut, ListGuestsQuery
from realm.edge.auth import Caller
from realm.edge.http import Json, Reply, endpoint
from realm.hosting import guests


@endpoint(
    "GET",
    summary="A party's guests by status, each status in order of answering",
    query=ListGuestsQuery,
    response=GuestPageOut,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.GuestListHidden,
        errors.InvalidCursor,
    ),
)
def list_guests(caller: Caller, query: ListGuestsQuery) -> Reply:
    with db.reading() as tx:
        page = guests.list_for(
            tx, caller.uid, query.party_id, query.status, limit=query.limit, cursor=query.cursor
        )
    return Reply(200, Json.object(guests=Json(page.rendered.text()), next_cursor=page.next_cursor))
