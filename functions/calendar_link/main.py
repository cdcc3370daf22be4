"""calendar-link: a new secret subscription URL for the caller's calendar feed; the previous
one stops working (DESIGN §11)."""

from realm import db, errors
from realm.edge.api_models import CalendarLinkOut
from realm.edge.auth import Caller
from realm.edge.http import Reply, endpoint
from realm.hosting import calendar


@endpoint(
    "POST",
    summary="A new secret calendar subscription URL (the previous one stops working)",
    response=CalendarLinkOut,
    errors=(errors.SignupRequired,),
)
def calendar_link(caller: Caller) -> Reply:
    with db.transaction() as tx:
        url = calendar.new_link(tx, caller.uid)
    return Reply(200, CalendarLinkOut(url=url))
