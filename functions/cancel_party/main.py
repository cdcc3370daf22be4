"""cancel-party: the host cancels a party and everyone concerned is told (DESIGN §11)."""

from realm import errors
from realm.edge.api_models import CancelPartyRequest, PartyDetailOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import changes


@endpoint(
    "POST",
    summary="Cancel a party you host (again: nothing changes)",
    body=CancelPartyRequest,
    response=PartyDetailOut,
    errors=(errors.SignupRequired, errors.PartyNotFound, errors.NotHost, errors.PartyOver),
)
def cancel_party(caller: Caller, body: CancelPartyRequest) -> Reply:
    with outbox.transaction() as tx:
        party = changes.cancel(tx, caller.uid, body.party_id)
    return Reply(200, PartyDetailOut.model_validate(party))
