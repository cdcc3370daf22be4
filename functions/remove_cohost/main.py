"""remove-cohost: the host takes the co-host role away (DESIGN §11)."""

from realm import errors
from realm.edge.api_models import CohostOut, CohostRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import cohosts


@endpoint(
    "POST",
    summary="Remove a co-host from a party you host",
    body=CohostRequest,
    response=CohostOut,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.CohostNotFound,
        errors.PartyOver,
        errors.PartyCancelled,
    ),
)
def remove_cohost(caller: Caller, body: CohostRequest) -> Reply:
    with outbox.transaction() as tx:
        cohost = cohosts.remove(tx, caller.uid, body.party_id, body.user_id)
    return Reply(200, CohostOut.model_validate(cohost))
