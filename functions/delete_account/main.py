"""delete-account: the caller deletes their account (DESIGN §13).

One transaction removes them from PostgreSQL: their upcoming hosted parties are cancelled and
the guests told, their invites removed (seats go to the waitlists), their co-host roles,
links, blocks, devices, calendar secret, photos and profile deleted. The account-deleted
event then removes their photo objects, their notifications and their sign-in account
(erase-account). Afterwards the same token gets 403 signup_required."""

from realm import errors
from realm.accounts import deletion
from realm.edge.api_models import AccountDeletionOut, DeleteAccountRequest
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.events import outbox


@endpoint(
    "POST",
    summary='Delete your account for good (send {"confirm": "delete my account"})',
    body=DeleteAccountRequest,
    response=AccountDeletionOut,
    status=202,
    errors=(errors.SignupRequired, errors.ConfirmationMismatch),
)
def delete_account(caller: Caller, body: DeleteAccountRequest) -> Reply:
    deletion.check_confirmation(body.confirm)
    with outbox.transaction() as tx:
        deleted = deletion.delete(tx, caller.uid)
    return Reply(
        202, AccountDeletionOut(status="accepted", parties_cancelled=deleted.parties_cancelled)
    )
