# Alerts: what needs a person, each with its runbook in docs/operations.md ("Alerts").
#
#   outbox backlog age        an event has waited > var.alert_outbox_age_seconds to be published
#   dead letters              a message landed in a dead-letter subscription
#   5xx rate per function     > var.alert_5xx_ratio of a function's answers are 5xx
#   relay failures            relay-outbox failed to publish, or has not run for 10 minutes
#   database connections      Cloud SQL backends near the connection budget of locals.tf
#
# Each policy notifies var.notification_channels (ids of channels made elsewhere: PagerDuty,
# Slack, ...) and, when var.alert_email is set, an email channel made here.
#
# Also here, at the end: the log exclusions that keep the calendar feed's secret out of the
# request logs (docs/operations.md, "Logs and the calendar token").

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  display_name = "Realm ${var.environment} on-call (email)"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  user_labels = local.labels

  depends_on = [google_project_service.enabled]
}

locals {
  alert_channels = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
  runbooks       = "https://github.com/${var.github_owner}/${var.github_repository}/blob/main/docs/operations.md"
}

# --- metrics read from the functions' own log lines (realm.logs: one JSON object per line) ---

# relay-outbox logs, after each run that leaves events pending, the age of the oldest one
# (realm.events.relay.RelayReport.oldest_pending_seconds).
resource "google_logging_metric" "outbox_oldest_pending" {
  name        = "${local.name_prefix}/outbox_oldest_pending_seconds"
  description = "Age of the oldest outbox event still pending after a relay run."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"relay-outbox\" AND jsonPayload.relay.oldest_pending_seconds>=0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }
  value_extractor = "EXTRACT(jsonPayload.relay.oldest_pending_seconds)"
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [google_project_service.enabled]
}

# Events the relay tried and failed to publish, per run.
resource "google_logging_metric" "relay_failed" {
  name        = "${local.name_prefix}/relay_failed_events"
  description = "Outbox events relay-outbox failed to publish."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"relay-outbox\" AND jsonPayload.relay.failed>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.enabled]
}

# --- the policies ---------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "outbox_backlog_age" {
  display_name          = "Realm ${var.environment}: outbox backlog older than ${var.alert_outbox_age_seconds}s"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "oldest pending outbox event"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.outbox_oldest_pending.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_outbox_age_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_PERCENTILE_99"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Events are waiting in the outbox: notifications and thumbnails are late. Runbook: ${local.runbooks}#runbook-an-outbox-backlog"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "Realm ${var.environment}: messages in a dead-letter subscription"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "undelivered dead letters"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.labels.subscription_id=monitoring.regex.full_match(\".*-dead-letter\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "An event function gave up on a message after every retry. Runbook: ${local.runbooks}#runbook-a-dead-letter-backlog"
  }
}

resource "google_monitoring_alert_policy" "function_5xx" {
  display_name          = "Realm ${var.environment}: 5xx rate of a function over ${var.alert_5xx_ratio * 100}%"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "share of 5xx answers, per function"
    # One series per function (service_name): a 5xx burst in one function is not diluted by
    # the traffic of the others. Only functions with traffic count (the division drops zeros).
    condition_prometheus_query_language {
      query               = "sum by (service_name) (rate(run_googleapis_com:request_count{monitored_resource=\"cloud_run_revision\",response_code_class=\"5xx\"}[5m])) / sum by (service_name) (rate(run_googleapis_com:request_count{monitored_resource=\"cloud_run_revision\"}[5m])) > ${var.alert_5xx_ratio}"
      duration            = "300s"
      evaluation_interval = "60s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A function answers 5xx (500 internal: a bug; 503 unavailable: pool exhausted or Google's keys unreachable). Runbook: ${local.runbooks}#runbook-5xx-from-a-function"
  }
}

resource "google_monitoring_alert_policy" "relay_failures" {
  display_name          = "Realm ${var.environment}: relay-outbox failing or not running"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "events the relay failed to publish"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.relay_failed.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "600s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  # Cloud Scheduler calls relay-outbox every minute; ten minutes without a request means the
  # job or its identity is broken, and nothing would publish a failed after-commit event.
  conditions {
    display_name = "relay-outbox not called for 10 minutes"
    condition_absent {
      filter   = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"relay-outbox\" AND metric.type=\"run.googleapis.com/request_count\""
      duration = "600s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The relay cannot publish to Pub/Sub, or the scheduler no longer calls it. Runbook: ${local.runbooks}#runbook-an-outbox-backlog"
  }
}

resource "google_monitoring_alert_policy" "db_connections" {
  display_name          = "Realm ${var.environment}: Cloud SQL connections near the budget"
  combiner              = "OR"
  notification_channels = local.alert_channels
  user_labels           = local.labels

  conditions {
    display_name = "PostgreSQL backends over ${var.alert_db_connections_ratio * 100}% of the functions' budget"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.labels.database_id=\"${var.project_id}:${local.db_instance_name}\" AND metric.type=\"cloudsql.googleapis.com/database/postgresql/num_backends\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(local.db_connections_budget * var.alert_db_connections_ratio)
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Connections approach max_connections minus the reserve (locals.tf). Runbook: ${local.runbooks}#runbook-database-connections"
  }
}

# --- what the request logs must not keep: the calendar feed's secret ------------------------

# The calendar feed is fetched as `<public_base_url>/calendar?token=<secret>` (calendar-link;
# realm.hosting.calendar): calendar apps cannot send a Firebase token, so the secret in the query
# string is the credential. The platform's request logs record whole request URLs, query string
# included, and anyone with logging.viewer could then read the feed. These exclusions drop those
# entries before the _Default sink stores them. Matched with the requests, not only with a
# parameter named token: werkzeug also reads `tok%65n=` as `token`. The function's own request
# line names only the function (realm.edge.http), never the query, and stays.
locals {
  # The function that serves the feed (local.functions; tests/infra checks the two agree and
  # that every operation routed without a Firebase token is covered here).
  calendar_feed_service = "calendar"
  # The feed's path at the public entry point, with or without scheme and host, followed by its
  # query (or nothing): not /calendar-link, whose requests carry no secret.
  calendar_feed_url_regex = "^(https?://[^/]+)?/calendar([/?#]|$)"
}

# The gateway's request logs (and any other entry that records a URL with that path, such as
# the function's own cloudfunctions.net URL): both fields a request URL is logged in.
resource "google_logging_project_exclusion" "calendar_token_requests_by_path" {
  name        = "${local.name_prefix}-calendar-token-requests-by-path"
  description = "Request log entries of the calendar feed, whose URL holds its secret token (docs/operations.md)."
  filter      = "httpRequest.requestUrl=~\"${local.calendar_feed_url_regex}\" OR jsonPayload.url=~\"${local.calendar_feed_url_regex}\""

  depends_on = [google_project_service.enabled]
}

# Cloud Run's request log of the calendar function: API Gateway calls it at its service URL's
# root with the query string kept (deploy/gateway.py, CONSTANT_ADDRESS), so the path is "/" and
# the service, which serves nothing but the feed, is what identifies these requests.
resource "google_logging_project_exclusion" "calendar_token_run_requests" {
  name        = "${local.name_prefix}-calendar-token-run-requests"
  description = "Cloud Run request log entries of the calendar function, whose URLs hold the feed's secret token (docs/operations.md)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.calendar_feed_service}\" AND logName=\"projects/${var.project_id}/logs/run.googleapis.com%2Frequests\""

  depends_on = [google_project_service.enabled]
}
