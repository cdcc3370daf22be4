"""create-invite-link: the host or a co-host makes a link that lets people join the party."""

from realm import db, errors
from realm.edge.api_models import CreateInviteLinkRequest, InviteLinkOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import links


@endpoint(
    "POST",
    summary="Create an invite link to a party you host or co-host",
    body=CreateInviteLinkRequest,
    response=InviteLinkOut,
    status=201,
    idempotent=True,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.PartyOver,
        errors.PartyCancelled,
        errors.ExpiresInPast,
        errors.RateLimited,
    ),
)
def create_invite_link(caller: Caller, body: CreateInviteLinkRequest) -> Reply:
    with db.transaction() as tx:
        link = links.create(
            tx,
            caller.uid,
            party_id=body.party_id,
            expires_at=body.expires_at,
            max_uses=body.max_uses,
        )
    return Reply(201, InviteLinkOut.model_validate(link))
