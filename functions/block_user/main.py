"""block-user: the caller blocks someone (idempotent). The blocked user is never told."""

from realm import db, errors
from realm.edge.api_models import BlockOut, BlockRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import blocks


@endpoint(
    "POST",
    summary="Block a user: they cannot invite you or join your parties, and neither of you "
    "finds the other",
    body=BlockRequest,
    response=BlockOut,
    errors=(errors.SignupRequired, errors.UserNotFound, errors.SelfBlock),
)
def block_user(caller: Caller, body: BlockRequest) -> Reply:
    with db.transaction() as tx:
        blocks.block(tx, caller.uid, body.user_id)
    return Reply(200, BlockOut(user_id=body.user_id, blocked=True))
