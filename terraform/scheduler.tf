# Publishes what the outbox still holds, every minute (DESIGN.md section 5). The job calls the
# private relay-outbox function with an OIDC token of the scheduler account, the only identity
# allowed to invoke it. No retry: the next run a minute later does the same work.
resource "google_cloud_scheduler_job" "relay_outbox" {
  name             = "${local.name_prefix}-relay-outbox"
  description      = "Publish pending outbox events (Realm ${var.environment})."
  region           = var.region
  schedule         = var.relay_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "120s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function["relay_outbox"].service_config[0].uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function["relay_outbox"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invoker]
}

# Reminds confirmed guests of parties starting within 24 hours (DESIGN section 11), every
# 15 minutes. No retry either: a reminder missed by one run is sent by the next, and
# reminders_sent makes every run send each reminder once.
resource "google_cloud_scheduler_job" "send_reminders" {
  name             = "${local.name_prefix}-send-reminders"
  description      = "Remind confirmed guests of parties starting within 24 hours (Realm ${var.environment})."
  region           = var.region
  schedule         = var.reminders_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "120s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function["send_reminders"].service_config[0].uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function["send_reminders"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invoker]
}
