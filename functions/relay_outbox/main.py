"""relay-outbox: publishes the outbox rows still pending. HTTP, invoked every minute by Cloud
Scheduler (private, IAM/OIDC in the cloud; open on loopback locally, where a timer calls it).

Answers 200 with the run's report, or 503 when some events could not be published (they stay
pending, with their attempts and last error recorded, for the next run)."""

import functions_framework
from werkzeug.wrappers import Request, Response

from realm.edge.http import scheduled
from realm.events import relay


@functions_framework.http
def relay_outbox(request: Request) -> Response:
    return scheduled(
        request, "relay-outbox", relay.run, lambda report: 503 if report.failed else 200
    )
