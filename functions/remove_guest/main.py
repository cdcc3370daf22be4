"""remove-guest: the host or a co-host removes a guest; their seat goes to the waitlist."""

from realm import errors
from realm.edge.api_models import GuestRemovedOut, RemoveGuestRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox
from realm.hosting import changes


@endpoint(
    "POST",
    summary="Remove a guest from a party you host or co-host",
    body=RemoveGuestRequest,
    response=GuestRemovedOut,
    errors=(
        errors.SignupRequired,
        errors.PartyNotFound,
        errors.NotHost,
        errors.GuestNotFound,
        errors.PartyOver,
        errors.PartyCancelled,
    ),
)
def remove_guest(caller: Caller, body: RemoveGuestRequest) -> Reply:
    with outbox.transaction() as tx:
        changes.remove_guest(tx, caller.uid, body.party_id, body.guest_id)
    return Reply(200, GuestRemovedOut(party_id=body.party_id, guest_id=body.guest_id))
