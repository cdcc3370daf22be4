"""calendar: the owner's upcoming parties as an RFC 5545 feed. No Firebase token (calendar
apps cannot send one): the secret in the URL, from calendar-link, is the credential."""

from realm import db, errors
from realm.edge.api_models import CalendarQuery
from realm.edge.http import Raw, Reply, endpoint
from realm.hosting import calendar as feeds
from realm.hosting import ical


@endpoint(
    "GET",
    summary="The calendar feed of a calendar-link URL (text/calendar; no token, the secret)",
    query=CalendarQuery,
    response=None,
    media_type="text/calendar",
    authenticated=False,
    errors=(errors.CalendarNotFound,),
)
def calendar(query: CalendarQuery) -> Reply:
    with db.reading() as tx:
        entries = feeds.entries(tx, feeds.owner_of(tx, query.token))
    return Reply(200, Raw(ical.render(entries), "text/calendar; charset=utf-8"))
