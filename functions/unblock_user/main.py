"""unblock-user: the caller lifts their block of someone (idempotent)."""

from realm import db, errors
from realm.edge.api_models import BlockOut, BlockRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import blocks


@endpoint(
    "POST",
    summary="Unblock a user you blocked (no change if you had not)",
    body=BlockRequest,
    response=BlockOut,
    errors=(errors.SignupRequired, errors.UserNotFound, errors.SelfBlock),
)
def unblock_user(caller: Caller, body: BlockRequest) -> Reply:
    with db.transaction() as tx:
        blocks.unblock(tx, caller.uid, body.user_id)
    return Reply(200, BlockOut(user_id=body.user_id, blocked=False))
