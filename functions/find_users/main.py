"""find-users: people by a prefix of their handle or of a word of their name."""

from realm import db, errors
from realm.edge.api_models import FindUsersQuery, UserPageOut
from realm.edge.auth import Caller
from realm.edge.http import Json, Reply, endpoint
from realm.people import search


@endpoint(
    "GET",
    summary="Find people by handle or name (prefix; case and accents do not matter)",
    query=FindUsersQuery,
    response=UserPageOut,
    errors=(errors.SignupRequired, errors.InvalidCursor),
)
def find_users(caller: Caller, query: FindUsersQuery) -> Reply:
    with db.reading() as tx:
        page = search.find(tx, caller.uid, query.q, limit=query.limit, cursor=query.cursor)
    return Reply(200, Json.object(users=Json(page.rendered.text()), next_cursor=page.next_cursor))
