# One service account per function, holding only what that function needs, granted on the one
# resource it needs (this topic, this bucket, this instance) wherever the API allows it.

resource "google_service_account" "function" {
  for_each = local.functions

  # account_id: 6-30 characters ([a-z][-a-z0-9]*[a-z0-9]), checked by the provider at plan time.
  # "realm-fn-" + the deployed name gives 11 ("me") to 23 ("respond-invite") characters; a
  # bare "fn-" prefix would make "fn-me" (5) and fail the plan.
  account_id   = "realm-fn-${replace(each.key, "_", "-")}"
  display_name = "Realm function ${replace(each.key, "_", "-")} (${var.environment})"
  description  = "Runtime identity of the ${replace(each.key, "_", "-")} Cloud Function; least privilege."

  depends_on = [google_project_service.enabled]
}

# --- Cloud SQL: connect (cloudsql.client) and log in as the IAM database user (instanceUser).
# Cloud SQL has no instance-level IAM policy, so the project-level grants are narrowed to the one
# instance with an IAM condition.
locals {
  sql_instance_condition = "resource.name == \"projects/${var.project_id}/instances/${local.db_instance_name}\" && resource.service == \"sqladmin.googleapis.com\""
  sql_roles              = ["roles/cloudsql.client", "roles/cloudsql.instanceUser"]
  sql_bindings = merge([
    for k, f in local.db_functions : { for r in local.sql_roles : "${k}--${r}" => { function = k, role = r } }
  ]...)
}

resource "google_project_iam_member" "function_sql" {
  for_each = local.sql_bindings

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function[each.value.function].member

  condition {
    title       = "only-${local.db_instance_name}"
    description = "Only the Realm database instance."
    expression  = local.sql_instance_condition
  }
}

# --- Pub/Sub: publish to the named topics only.
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publisher_bindings

  topic  = google_pubsub_topic.topic[each.value.topic].id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function[each.value.function].member
}

# --- Media bucket: the role each function needs, on that bucket only.
resource "google_storage_bucket_iam_member" "media" {
  for_each = local.bucket_bindings

  bucket = google_storage_bucket.media.name
  role   = each.value.role
  member = google_service_account.function[each.value.function].member
}

# --- Signed URLs without a key file: the function signs with IAM signBlob as itself, which
# needs the token creator role on its own service account and on nothing else.
resource "google_service_account_iam_member" "self_sign" {
  for_each = { for k, f in local.functions : k => f if f.signs_urls }

  service_account_id = google_service_account.function[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.function[each.key].member
}

# --- Firestore: Firestore IAM is project-level; the condition narrows it to the one database.
resource "google_project_iam_member" "function_firestore" {
  for_each = { for k, f in local.functions : k => f if f.firestore }

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function[each.key].member

  condition {
    title       = "only-default-firestore"
    description = "Only the (default) Firestore database."
    expression  = "resource.name.startsWith(\"projects/${var.project_id}/databases/(default)\")"
  }
}

# --- Push: FCM HTTP v1 (messages:send) as the function's own identity. The predefined
# roles/firebasecloudmessaging.admin would also let it manage topic subscriptions and read
# delivery data; this role holds the one permission sending needs. FCM has no resource below
# the project to grant it on, so the binding is project-level; the role is what is narrow.
resource "google_project_iam_custom_role" "fcm_sender" {
  role_id     = "realmFcmSender${replace(title(var.environment), "-", "")}"
  title       = "Realm FCM sender (${var.environment})"
  description = "Send FCM messages (HTTP v1 messages:send) and nothing else."
  permissions = ["cloudmessaging.messages.create"]
}

resource "google_project_iam_member" "fcm_sender" {
  for_each = local.push_senders

  project = var.project_id
  role    = google_project_iam_custom_role.fcm_sender.name
  member  = google_service_account.function[each.key].member
}

# --- Deleting a deleted account's Firebase Auth user (Identity Toolkit accounts:delete) as the
# function's own identity. roles/firebaseauth.admin would also let it create and change users
# and the project's sign-in configuration; this role holds the one permission deleting a user
# needs. Firebase Auth users live in the project, so the binding is project-level; the role is
# what is narrow.
resource "google_project_iam_custom_role" "auth_user_deleter" {
  role_id     = "realmAuthUserDeleter${replace(title(var.environment), "-", "")}"
  title       = "Realm Auth user deleter (${var.environment})"
  description = "Delete Firebase Auth users (Identity Toolkit accounts:delete) and nothing else."
  permissions = ["firebaseauth.users.delete"]
}

resource "google_project_iam_member" "auth_user_deleter" {
  for_each = local.auth_user_deleters

  project = var.project_id
  role    = google_project_iam_custom_role.auth_user_deleter.name
  member  = google_service_account.function[each.key].member
}

# --- Deleting a deleted account's photo objects: list and delete on the media bucket, without
# the create and read that roles/storage.objectUser would add.
resource "google_project_iam_custom_role" "media_eraser" {
  role_id     = "realmMediaEraser${replace(title(var.environment), "-", "")}"
  title       = "Realm media eraser (${var.environment})"
  description = "List and delete objects (granted on the media bucket only)."
  permissions = ["storage.objects.list", "storage.objects.delete"]
}

resource "google_storage_bucket_iam_member" "media_eraser" {
  for_each = local.media_erasers

  bucket = google_storage_bucket.media.name
  role   = google_project_iam_custom_role.media_eraser.name
  member = google_service_account.function[each.key].member
}

# --- Reading Firestore without writing (export-my-data reads the caller's feed); narrowed to
# the one database like the writers' grant.
resource "google_project_iam_member" "function_firestore_reader" {
  for_each = local.firestore_readers

  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.function[each.key].member

  condition {
    title       = "only-default-firestore"
    description = "Only the (default) Firestore database."
    expression  = "resource.name.startsWith(\"projects/${var.project_id}/databases/(default)\")"
  }
}

# --- Identities that call private functions (roles/run.invoker on one function each; see
# functions.tf).
resource "google_service_account" "gateway" {
  account_id   = "realm-gateway"
  display_name = "Realm API Gateway backend (${var.environment})"
  description  = "API Gateway calls the private HTTP functions as this account."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "scheduler" {
  account_id   = "realm-scheduler"
  display_name = "Realm outbox relay scheduler (${var.environment})"
  description  = "Cloud Scheduler calls relay-outbox as this account (OIDC)."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "pusher" {
  account_id   = "realm-pubsub-push"
  display_name = "Realm Pub/Sub push (${var.environment})"
  description  = "Pub/Sub push subscriptions call the event functions as this account (OIDC)."

  depends_on = [google_project_service.enabled]
}

# Pub/Sub mints the push OIDC tokens of the pusher account.
resource "google_service_account_iam_member" "pusher_token_creator" {
  service_account_id = google_service_account.pusher.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# --- Build identity of the functions (instead of the default compute account).
resource "google_service_account" "builder" {
  account_id   = "realm-function-builder"
  display_name = "Realm function builds (${var.environment})"
  description  = "Cloud Build builds the function images as this account."

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "builder_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.builder.member
}

resource "google_artifact_registry_repository_iam_member" "builder_writer" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.builder.member
}

resource "google_storage_bucket_iam_member" "builder_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.builder.member
}

# Cloud Functions copies each source archive into a bucket of its own,
# gcf-v2-sources-<project number>-<region>, and the build fetches it from there as the build
# account; without this grant the build fails with "Access to bucket gcf-v2-sources-... denied.
# You must grant Storage Object Viewer permission to <build account>". That bucket only exists
# after the first deployment, so the grant is project-level, narrowed to it by a condition.
locals {
  gcf_sources_bucket = "projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_project_iam_member" "builder_gcf_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.builder.member

  condition {
    title       = "only-gcf-v2-sources"
    description = "Only the bucket Cloud Functions copies the function sources to."
    expression  = "resource.name == \"${local.gcf_sources_bucket}\" || resource.name.startsWith(\"${local.gcf_sources_bucket}/\")"
  }
}
