"""respond-invite: an invited guest confirms or declines."""

from realm.edge.api_models import InviteOut, RespondInviteRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import invites


@endpoint(
    "POST",
    summary="Confirm or decline your invite",
    body=RespondInviteRequest,
    response=InviteOut,
    errors=(400, 401, 403, 404, 405, 413, 415, 422),
)
def respond_invite(caller: Caller, body: RespondInviteRequest) -> Reply:
    with outbox.transaction() as tx:
        invite = invites.respond(tx, caller.uid, party_id=body.party_id, response=body.response)
    return Reply(200, InviteOut.model_validate(invite))
