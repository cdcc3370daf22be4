# Profile photos and their thumbnails, under photos/{user_id}/{photo_id}/. Nothing here is ever
# public: the app gets time-limited V4 signed URLs from the functions.
resource "google_storage_bucket" "media" {
  #checkov:skip=CKV_GCP_62:Objects are read through short-lived signed URLs; Cloud Audit Logs cover access, legacy usage logs would add a log bucket with no reader.
  name                        = "${var.project_id}-${local.name_prefix}-media"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  # Replaced or deleted photos are kept 30 days (recovery from a bad thumbnail run), then gone.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Function source archives, one object per archive content: the object name carries the
# archive's SHA-256, so an unchanged function keeps the same object and is not redeployed, and
# a rollback to an older commit reuses (or re-uploads) the older object.
resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:Only terraform and Cloud Build touch these archives; their API calls are in Cloud Audit Logs.
  name                        = "${var.project_id}-${local.name_prefix}-sources"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "source" {
  for_each = local.functions

  bucket       = google_storage_bucket.sources.name
  name         = "${replace(each.key, "_", "-")}/${filesha256("${local.dist_dir}/${replace(each.key, "_", "-")}.zip")}.zip"
  source       = "${local.dist_dir}/${replace(each.key, "_", "-")}.zip"
  content_type = "application/zip"
}

# Images built from the archives. Old images are cleaned up; the newest ones stay for rollback.
resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption is enough for images built from this repository's public source.
  location      = var.region
  repository_id = "${local.name_prefix}-functions"
  description   = "Container images of the Realm Cloud Functions."
  format        = "DOCKER"
  labels        = local.labels

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.enabled]
}
