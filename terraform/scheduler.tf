# The private HTTP functions Cloud Scheduler calls, each with an OIDC token of the scheduler
# account, the only identity allowed to invoke them. No retry for either: the next run does the
# same work.
# - relay_outbox publishes what the outbox still holds, every minute (DESIGN.md section 5).
# - send_reminders reminds confirmed guests of parties starting within 24 hours (section 11),
#   every 15 minutes; a reminder missed by one run is sent by the next, and reminders_sent
#   makes every run send each reminder once.
locals {
  scheduled_jobs = {
    relay_outbox = {
      schedule    = var.relay_schedule
      description = "Publish pending outbox events"
    }
    send_reminders = {
      schedule    = var.reminders_schedule
      description = "Remind confirmed guests of parties starting within 24 hours"
    }
  }
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.scheduled_jobs

  name             = "${local.name_prefix}-${replace(each.key, "_", "-")}"
  description      = "${each.value.description} (Realm ${var.environment})."
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "120s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invoker]
}

# The two jobs were two resources before; state written then follows them here.
moved {
  from = google_cloud_scheduler_job.relay_outbox
  to   = google_cloud_scheduler_job.job["relay_outbox"]
}

moved {
  from = google_cloud_scheduler_job.send_reminders
  to   = google_cloud_scheduler_job.job["send_reminders"]
}
