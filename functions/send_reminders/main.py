"""send-reminders: reminds each confirmed guest once when their party starts within 24 hours.
HTTP, invoked every 15 minutes by Cloud Scheduler (private, IAM/OIDC in the cloud; open on
loopback locally, where a timer of `realm serve` calls it).

Answers 200 with the run's report, or 503 when PostgreSQL is unavailable (the next run
catches up)."""

import functions_framework
from werkzeug.wrappers import Request, Response

from realm.edge.http import scheduled
from realm.hosting import reminders


@functions_framework.http
def send_reminders(request: Request) -> Response:
    return scheduled(request, "send-reminders", reminders.run)
