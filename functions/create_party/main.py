"""create-party: the caller hosts a new party."""

from realm import db, errors
from realm.edge.api_models import CreatePartyRequest, PartyOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.hosting import parties


@endpoint(
    "POST",
    summary="Host a new party",
    body=CreatePartyRequest,
    response=PartyOut,
    status=201,
    idempotent=True,
    errors=(errors.SignupRequired, errors.TooFarAhead, errors.PartyOver, errors.RateLimited),
)
def create_party(caller: Caller, body: CreatePartyRequest) -> Reply:
    with db.transaction() as tx:
        party = parties.create(
            tx,
            caller.uid,
            flat=body.flat,
            first_entry=body.first_entry,
            title=body.title,
            description=body.description,
            capacity=body.capacity,
        )
    return Reply(201, PartyOut.model_validate(party))
