locals {
  db_instance_name = "${local.name_prefix}-pg"
  db_name          = "realm"
}

# PostgreSQL for the shared data layer.
#
# Reachability: the instance has a public IP but no authorized network at all, and only accepts
# connections that present a client certificate issued by the Cloud SQL Admin API
# (TRUSTED_CLIENT_CERTIFICATE_REQUIRED). That certificate is what the Cloud SQL Python Connector
# obtains for an IAM principal holding roles/cloudsql.client on this instance, so the only way
# in is the connector (functions, and the migrate step run by the deployer), authenticated by
# IAM twice: once to get the certificate, once as the IAM database user (no password anywhere).
# A private IP would need a VPC, a serverless connector in front of every function and a way
# into the VPC for the CI runner, for no extra protection over that.
resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_79:The major version is pinned to the one the app and its migrations are tested against; upgrades are deliberate (in-place major version upgrade after testing).
  #checkov:skip=CKV_GCP_60:Public IP without any authorized network; only the Cloud SQL connector (mTLS with an IAM-issued certificate plus IAM database login) can connect. See the comment above.
  name                = local.db_instance_name
  database_version    = "POSTGRES_17"
  region              = var.region
  deletion_protection = true

  settings {
    tier                        = var.db_tier
    edition                     = "ENTERPRISE"
    availability_type           = var.db_availability_type
    disk_autoresize             = true
    deletion_protection_enabled = true
    user_labels                 = local.labels

    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
      # No authorized_networks block: no address range, the whole internet least of all, may connect
      # directly.
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "02:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7

      backup_retention_settings {
        retained_backups = 14
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "max_connections"
      value = tostring(var.db_max_connections)
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "role,ddl"
    }
  }

  lifecycle {
    prevent_destroy = true

    precondition {
      condition     = local.db_connections_needed <= local.db_connections_budget
      error_message = "Function instance limits x pool sizes need ${local.db_connections_needed} connections, over the budget of ${local.db_connections_budget} (max_connections - reserved); lower max_instances or pool_size in locals.tf or raise db_max_connections."
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_sql_database" "realm" {
  name     = local.db_name
  instance = google_sql_database_instance.main.name
  # Keep the data if this resource is ever removed from the configuration.
  deletion_policy = "ABANDON"
}

# One IAM database user per function service account that touches the database. Privileges on
# the tables are granted by the migrate step (deploy/migrate.py), which owns them.
resource "google_sql_user" "function" {
  for_each = local.db_functions

  instance = google_sql_database_instance.main.name
  name     = local.db_user[each.key]
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
  # A user that was granted privileges cannot be dropped through the API; keep the role.
  deletion_policy = "ABANDON"
}

# The deployer runs the migrations as itself and owns the schema.
resource "google_sql_user" "deployer" {
  instance        = google_sql_database_instance.main.name
  name            = trimsuffix(google_service_account.deployer.email, ".gserviceaccount.com")
  type            = "CLOUD_IAM_SERVICE_ACCOUNT"
  deletion_policy = "ABANDON"
}
