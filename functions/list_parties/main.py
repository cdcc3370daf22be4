"""list-parties: the caller's upcoming parties on one screen of the app, soonest first."""

from realm import db, errors
from realm.edge.api_models import ListPartiesQuery, PartyPageOut
from realm.edge.auth import Caller
from realm.edge.http import Json, Reply, endpoint
from realm.hosting import parties


@endpoint(
    "GET",
    summary="List the caller's upcoming parties",
    query=ListPartiesQuery,
    response=PartyPageOut,
    errors=(errors.SignupRequired, errors.InvalidCursor),
)
def list_parties(caller: Caller, query: ListPartiesQuery) -> Reply:
    with db.reading() as tx:
        page = parties.list_for(tx, caller.uid, query.view, limit=query.limit, cursor=query.cursor)
    return Reply(200, Json.object(parties=Json(page.rendered.text()), next_cursor=page.next_cursor))
