# Topics carry the outbox events (DESIGN.md section 5); each has a dead-letter topic that
# receives what its subscribers could not process within the bounded retry policy.

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Event payloads hold ids and display text only; Google-managed encryption.
  for_each = local.topics

  name                       = each.value
  labels                     = local.labels
  message_retention_duration = "86400s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Event payloads hold ids and display text only; Google-managed encryption.
  for_each = local.topics

  name                       = "${each.value}-dead-letter"
  labels                     = local.labels
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

# Dead letters are kept (7 days) in a pull subscription where an operator can inspect them and
# republish them to the live topic once the cause is fixed (docs/operations.md, "Runbook: a dead-letter backlog").
resource "google_pubsub_subscription" "dead_letter" {
  for_each = local.topics

  name                       = "${each.value}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[each.value].id
  labels                     = local.labels
  message_retention_duration = "604800s"
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

# The event functions' triggers: one push subscription per (function, topic). Pub/Sub pushes each
# message to the private function with an OIDC token of the pusher account; any non-2xx answer
# (or no answer within the ack deadline) is retried with exponential backoff, and after
# max_delivery_attempts the message goes to the topic's dead-letter topic. Event functions are
# idempotent on event_id, so retries and duplicate deliveries are safe.
resource "google_pubsub_subscription" "push" {
  for_each = local.subscriptions

  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  labels                     = local.labels
  ack_deadline_seconds       = min(600, max(10, local.functions[each.value.function].timeout))
  message_retention_duration = "86400s"
  enable_message_ordering    = false

  push_config {
    push_endpoint = google_cloudfunctions2_function.function[each.value.function].service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.pusher.email
      audience              = google_cloudfunctions2_function.function[each.value.function].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value.topic].id
    max_delivery_attempts = 10
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.pusher_invoker,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# The Pub/Sub service agent forwards undeliverable messages: it must publish to the dead-letter
# topic and acknowledge on the source subscription.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta
  service  = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.topics

  topic  = google_pubsub_topic.dead_letter[each.value].id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.subscriptions

  subscription = google_pubsub_subscription.push[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_project_service_identity.pubsub.email}"
}
