"""send-reminders: reminds each confirmed guest once when their party starts within 24 hours.
HTTP, invoked every 15 minutes by Cloud Scheduler (private, IAM/OIDC in the cloud; open on
loopback locally, where a timer of `realm serve` calls it).

Answers 200 with the run's report."""

import json

import functions_framework
from werkzeug.wrappers import Request, Response

from realm.edge.http import error_response
from realm.hosting import reminders


@functions_framework.http
def send_reminders(request: Request) -> Response:
    if request.method != "POST":
        return error_response(405, "method_not_allowed", "Use POST.", headers={"Allow": "POST"})
    report = reminders.run()
    return Response(json.dumps(report.as_dict()), 200, content_type="application/json")
