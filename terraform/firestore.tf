# Firebase: the app signs users in with Firebase Authentication (its ID tokens are what the
# gateway and the functions verify) and listens to its notification feed in Firestore.

# Makes the project a Firebase project (beta-only resource).
resource "google_firebase_project" "this" {
  provider = google-beta
  project  = var.project_id

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_database" "default" {
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # Removing the resource from the configuration leaves the database (and the feeds) in place.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled, google_firebase_project.this]
}

# Security rules, written next to the code at the repository root: a signed-in user may read
# only users/{their uid}/notifications/*, and no client may write anything (the notify-guest
# function writes with its service account, which rules do not apply to).
resource "google_firebaserules_ruleset" "firestore" {
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"

  # A new ruleset (rules changed) is released by replacing the release, as the provider needs.
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}
