# Continuous deployment from GitHub Actions through Workload Identity Federation: the workflow
# exchanges its GitHub OIDC token for a short-lived token of the deployer account. There is no
# service account key anywhere. Only workflow runs of github_owner/github_repository on var.deploy_branch qualify: the
# provider's condition pins the token's subject claim "repo:<owner>/<name>:ref:refs/heads/<branch>"
# (the workflow must not use a GitHub environment, which would change the subject).

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "${local.name_prefix}-github"
  display_name              = "GitHub Actions"
  description               = "CD of the Realm backend from GitHub Actions."

  depends_on = [google_project_service.enabled]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  # Tokens of other repositories, or of other branches of this one, are refused outright.
  attribute_condition = "assertion.sub == 'repo:${var.github_owner}/${var.github_repository}:ref:refs/heads/${var.deploy_branch}'"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  account_id   = "realm-deployer"
  display_name = "Realm deployer (${var.environment})"
  description  = "Runs terraform and the migrations from CD (Workload Identity Federation, no key)."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account_iam_member" "deployer_wif" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_owner}/${var.github_repository}"
}

# What terraform needs to manage everything in this folder. Deliberately not roles/owner or
# roles/editor; service-account "act as" is granted per account below, not project-wide.
locals {
  deployer_roles = toset([
    "roles/apigateway.admin",
    "roles/artifactregistry.admin",
    "roles/cloudfunctions.admin",
    "roles/cloudscheduler.admin",
    "roles/cloudsql.admin",
    "roles/datastore.owner",
    "roles/firebase.admin",
    "roles/firebaserules.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/servicemanagement.admin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
  ])

  acted_as = merge(
    { for k, sa in google_service_account.function : "fn-${k}" => sa.name },
    {
      builder   = google_service_account.builder.name
      gateway   = google_service_account.gateway.name
      scheduler = google_service_account.scheduler.name
      pusher    = google_service_account.pusher.name
    },
  )
}

resource "google_project_iam_member" "deployer" {
  #checkov:skip=CKV_GCP_49:The deployer is terraform itself: it creates and deletes the function service accounts declared in iam.tf (serviceAccountAdmin), and may act as each of them only through the per-account grants below.
  for_each = local.deployer_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer.member
}

# Deploying a function, a scheduler job, a push subscription or a gateway "as" an account needs
# actAs on that account only.
resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = local.acted_as

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}
