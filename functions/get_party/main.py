"""get-party: one party as its host, a co-host or a guest sees it (DESIGN §11)."""

from realm import db, errors
from realm.edge.api_models import PartyDetailOut, PartyQuery
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.hosting import parties


@endpoint(
    "GET",
    summary="A party's details, the caller's role and invite, its counts and co-hosts",
    query=PartyQuery,
    response=PartyDetailOut,
    errors=(errors.SignupRequired, errors.PartyNotFound),
)
def get_party(caller: Caller, query: PartyQuery) -> Reply:
    with db.reading() as tx:
        party = parties.detail(tx, caller.uid, query.party_id)
    return Reply(200, PartyDetailOut.model_validate(party))
