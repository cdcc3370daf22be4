"""join-party: the caller joins a party through an invite link's token."""

from realm import errors
from realm.edge.api_models import InviteOut, JoinPartyRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.people import links


@endpoint(
    "POST",
    summary="Join a party by an invite link: 201 with your new invite, or 200 with the one "
    "you already had",
    body=JoinPartyRequest,
    response=InviteOut,
    status=201,
    also=(200,),
    idempotent=True,
    errors=(
        errors.SignupRequired,
        errors.LinkNotFound,
        errors.SelfInvite,
        errors.PartyOver,
        errors.PartyCancelled,
    ),
)
def join_party(caller: Caller, body: JoinPartyRequest) -> Reply:
    with outbox.transaction() as tx:
        joined = links.join(tx, caller.uid, body.token)
    return Reply(201 if joined.created else 200, InviteOut.model_validate(joined.invite))
