"""relay-outbox: publishes the outbox rows still pending. HTTP, invoked every minute by Cloud
Scheduler (private, IAM/OIDC in the cloud; open on loopback locally, where a timer calls it).

Answers 200 with the run's report, or 503 when some events could not be published (they stay
pending, with their attempts and last error recorded, for the next run)."""

import json

import functions_framework
from werkzeug.wrappers import Request, Response

from realm import outages
from realm.edge.http import error_response
from realm.errors import DependencyUnavailable
from realm.events import relay


@functions_framework.http
def relay_outbox(request: Request) -> Response:
    if request.method != "POST":
        return error_response(405, "method_not_allowed", "Use POST.", headers={"Allow": "POST"})
    try:
        report = relay.run()
    except DependencyUnavailable as error:  # PostgreSQL down: the next run catches up
        outages.report(error.dependency, error, {"function": "relay-outbox"})
        return error_response(
            503, "unavailable", "The database is unavailable.", headers={"Retry-After": "60"}
        )
    status = 503 if report.failed else 200
    return Response(json.dumps(report.as_dict()), status, content_type="application/json")
