"""revoke-invite-link: the host or a co-host stops an invite link from working."""

from realm import db, errors
from realm.edge.api_models import RevokedLinkOut, RevokeInviteLinkRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import links


@endpoint(
    "POST",
    summary="Revoke an invite link (again: no change)",
    body=RevokeInviteLinkRequest,
    response=RevokedLinkOut,
    errors=(errors.SignupRequired, errors.LinkNotFound, errors.NotHost),
)
def revoke_invite_link(caller: Caller, body: RevokeInviteLinkRequest) -> Reply:
    with db.transaction() as tx:
        link = links.revoke(tx, caller.uid, body.link_id)
    return Reply(200, RevokedLinkOut.model_validate(link))
