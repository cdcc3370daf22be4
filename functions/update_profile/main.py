"""update-profile: the caller changes their name, handle, phone or phone discoverability."""

from realm import db, errors
from realm.edge.api_models import UpdateProfileRequest, UserOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import users


@endpoint(
    "POST",
    summary="Change the caller's profile; fields left out stay as they are",
    body=UpdateProfileRequest,
    response=UserOut,
    errors=(errors.SignupRequired, errors.HandleTaken),
)
def update_profile(caller: Caller, body: UpdateProfileRequest) -> Reply:
    with db.transaction() as tx:
        user = users.update(tx, caller.uid, body.changes())
    return Reply(200, UserOut.model_validate(user))
