"""create-invite: the host or a co-host of a party invites a guest."""

from realm import errors
from realm.edge.api_models import CreateInviteRequest, InviteOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import invites


@endpoint(
    "POST",
    summary="Invite a guest (by id or by handle) to a party you host or co-host",
    body=CreateInviteRequest,
    response=InviteOut,
    status=201,
    idempotent=True,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.GuestNotFound,
        errors.SelfInvite,
        errors.PartyOver,
        errors.PartyCancelled,
        errors.AlreadyInvited,
        errors.RateLimited,
    ),
)
def create_invite(caller: Caller, body: CreateInviteRequest) -> Reply:
    with outbox.transaction() as tx:
        invite = invites.create(
            tx, caller.uid, party_id=body.party_id, guest_id=body.guest_id, handle=body.handle
        )
    return Reply(201, InviteOut.model_validate(invite))
