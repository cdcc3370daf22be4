"""match-contacts: which of the caller's contacts are on Realm and let themselves be found.

The numbers are neither stored nor logged (realm.people.contacts)."""

from realm import db, errors
from realm.edge.api_models import ContactMatchesOut, MatchContactsRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.people import contacts


@endpoint(
    "POST",
    summary="Find the people among your contacts' phone numbers (at most 500 per call)",
    body=MatchContactsRequest,
    response=ContactMatchesOut,
    errors=(errors.SignupRequired, errors.RateLimited),
)
def match_contacts(caller: Caller, body: MatchContactsRequest) -> Reply:
    # A transaction: the quota spent is written with the lookup it pays for.
    with db.transaction() as tx:
        found = contacts.match(tx, caller.uid, body.phones)
    return Reply(200, ContactMatchesOut.model_validate({"users": found}))
