# Every function in functions/ (locals.tf), from its archive built by deploy/build.py.
#
# All functions are private: invoking one needs roles/run.invoker on its Cloud Run service, and
# only these identities hold it, each on the functions it calls:
#   gateway SA   -> the public HTTP functions (the app reaches them through API Gateway only)
#   scheduler SA -> relay-outbox
#   pusher SA    -> the event functions
# Configuration is plain environment variables; there is no secret to pass (IAM database auth,
# IAM signBlob for URLs, ambient credentials for Pub/Sub, Storage and Firestore).

locals {
  common_env = {
    REALM_ENV                   = "cloud"
    REALM_PROJECT_ID            = var.project_id
    REALM_DB_INSTANCE           = google_sql_database_instance.main.connection_name
    REALM_DB_NAME               = google_sql_database.realm.name
    REALM_MEDIA_BUCKET          = google_storage_bucket.media.name
    REALM_EVENT_MAX_AGE_SECONDS = tostring(var.event_max_age_seconds)
    REALM_INVITE_LINK_BASE_URL  = var.invite_link_base_url
    LOG_EXECUTION_ID            = "true"
  }
}

resource "google_cloudfunctions2_function" "function" {
  #checkov:skip=CKV_GCP_124:Public HTTP functions must accept traffic from API Gateway, which is not a VPC source; they stay private through IAM (only the gateway SA may invoke). Event and scheduler functions use ALLOW_INTERNAL_ONLY.
  for_each = local.functions

  name        = replace(each.key, "_", "-")
  location    = var.region
  description = "Realm ${replace(each.key, "_", "-")} (${each.value.trigger})"
  labels      = local.labels

  build_config {
    runtime           = "python312"
    entry_point       = each.key
    service_account   = google_service_account.builder.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[each.key].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    available_cpu                    = "1"
    available_memory                 = each.value.memory
    timeout_seconds                  = each.value.timeout
    all_traffic_on_latest_revision   = true
    # Public HTTP functions are reached by API Gateway over the internet (and still need the
    # gateway's identity); Pub/Sub push and Cloud Scheduler are internal sources.
    ingress_settings = each.value.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"

    environment_variables = merge(local.common_env, {
      REALM_DB_USER      = local.db_user[each.key]
      REALM_DB_POOL_SIZE = tostring(each.value.pool_size)
      # Signed photo URLs are signed as this account through IAM signBlob (no key file).
      REALM_SIGNER_EMAIL = google_service_account.function[each.key].email
      }, var.public_base_url == "" ? {} : {
      # Links the app is handed (calendar-link) point at the public entry point.
      REALM_PUBLIC_BASE_URL = var.public_base_url
    })
  }

  lifecycle {
    precondition {
      condition     = each.value.pool_size <= each.value.concurrency || each.value.db == "none"
      error_message = "pool_size must not exceed concurrency: a request holds at most one connection."
    }
  }

  depends_on = [
    google_project_iam_member.builder_logs,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources,
    google_project_iam_member.builder_gcf_sources,
    google_sql_user.function,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "gateway_invoker" {
  for_each = { for k, f in local.functions : k => f if f.trigger == "http" && f.public }

  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.gateway.member
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = { for k, f in local.functions : k => f if f.trigger == "http" && !f.public }

  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

resource "google_cloud_run_v2_service_iam_member" "pusher_invoker" {
  for_each = { for k, f in local.functions : k => f if f.trigger == "pubsub" }

  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.pusher.member
}
