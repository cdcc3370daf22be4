"""me: the caller's own profile."""

from realm import db, errors
from realm.edge.api_models import UserOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import users


@endpoint("GET", summary="The caller's profile", response=UserOut, errors=(errors.SignupRequired,))
def me(caller: Caller) -> Reply:
    with db.reading() as tx:
        user = users.me(tx, caller.uid)
    return Reply(200, UserOut.model_validate(user))
