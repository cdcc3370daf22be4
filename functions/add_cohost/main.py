"""add-cohost: the host makes someone a co-host, who is told (DESIGN §11)."""

from realm import errors
from realm.edge.api_models import CohostOut, CohostRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import cohosts


@endpoint(
    "POST",
    summary="Make someone a co-host of a party you host",
    body=CohostRequest,
    response=CohostOut,
    status=201,
    idempotent=True,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.UserNotFound,
        errors.SelfCohost,
        errors.AlreadyCohost,
        errors.PartyOver,
        errors.PartyCancelled,
    ),
)
def add_cohost(caller: Caller, body: CohostRequest) -> Reply:
    with outbox.transaction() as tx:
        cohost = cohosts.add(tx, caller.uid, body.party_id, body.user_id)
    return Reply(201, CohostOut.model_validate(cohost))
