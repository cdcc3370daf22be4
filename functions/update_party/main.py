"""update-party: the host or a co-host changes a party; a new time or place is told to the
guests, a raised capacity promotes the waitlist (DESIGN §11)."""

from realm import errors
from realm.edge.api_models import PartyDetailOut, UpdatePartyRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import changes


@endpoint(
    "POST",
    summary="Change a party you host or co-host",
    body=UpdatePartyRequest,
    response=PartyDetailOut,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.PartyOver,
        errors.PartyCancelled,
        errors.FirstEntryPassed,
        errors.TooFarAhead,
    ),
)
def update_party(caller: Caller, body: UpdatePartyRequest) -> Reply:
    with outbox.transaction() as tx:
        party = changes.update(tx, caller.uid, body.party_id, body.changes())
    return Reply(200, PartyDetailOut.model_validate(party))
