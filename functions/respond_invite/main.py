"""respond-invite: an invited guest confirms (with plus-ones; waitlisted when the party is full)
or declines (a freed seat promotes the waitlist)."""

from realm import errors
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
    errors=(
        errors.SignupRequired,
        errors.InviteNotFound,
        errors.PartyOver,
        errors.PartyCancelled,
        errors.TooManyPlusOnes,
        errors.NoRoom,
    ),
)
def respond_invite(caller: Caller, body: RespondInviteRequest) -> Reply:
    with outbox.transaction() as tx:
        invite = invites.respond(
            tx,
            caller.uid,
            party_id=body.party_id,
            response=body.response,
            plus_ones=body.plus_ones,
        )
    return Reply(200, InviteOut.model_validate(invite))
