variable "project_id" {
  description = "The Google Cloud (and Firebase) project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id."
  }
}

variable "region" {
  description = "Region of the functions, the database, the buckets, the scheduler and the gateway."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Environment name, part of resource names and labels (e.g. production, staging)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 characters: lower-case letters, digits and '-'."
  }
}

variable "github_owner" {
  description = "GitHub user or organisation owning the repository that may deploy (Workload Identity Federation)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repository" {
  description = "Name (without owner) of the GitHub repository whose deploy branch may deploy."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be a repository name without its owner."
  }
}

variable "deploy_branch" {
  description = "The only branch whose workflow runs may impersonate the deployer."
  type        = string
  default     = "production"
}

variable "dist_dir" {
  description = "Folder holding the archives built by `python -m deploy.build` (default: ../dist)."
  type        = string
  default     = null
}

variable "db_tier" {
  description = "Cloud SQL machine type."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_availability_type" {
  description = "REGIONAL (high availability, production) or ZONAL."
  type        = string
  default     = "REGIONAL"
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections, set as a database flag. Function instance limits are sized against it (see locals.tf)."
  type        = number
  default     = 200
}

variable "db_reserved_connections" {
  description = "Connections kept free of functions: Cloud SQL's own (superuser_reserved_connections and maintenance), migrations, an operator's session."
  type        = number
  default     = 20
}

variable "firestore_location" {
  description = "Location of the Firestore database holding the notification feeds."
  type        = string
  default     = "eur3"
}

variable "event_max_age_seconds" {
  description = "Events older than this are acknowledged without effect by event functions (REALM_EVENT_MAX_AGE_SECONDS)."
  type        = number
  default     = 259200
}

variable "invite_link_base_url" {
  description = "Invite links are <this>/<token> (REALM_INVITE_LINK_BASE_URL): the app's deep link, a custom scheme or a universal link (https) the app claims."
  type        = string
  default     = "realm://join"
  validation {
    condition     = can(regex("^[a-z][a-z0-9+.-]*://[^\\s?#]+$", var.invite_link_base_url))
    error_message = "An absolute URL without query or fragment, e.g. https://example.com/join or realm://join."
  }
}

variable "relay_schedule" {
  description = "Cron schedule of the outbox relay."
  type        = string
  default     = "* * * * *"
}

# --- alerts (monitoring.tf) -----------------------------------------------------------------

variable "notification_channels" {
  description = "Ids of Cloud Monitoring notification channels every alert notifies (projects/<p>/notificationChannels/<id>), made outside this configuration (PagerDuty, Slack, ...)."
  type        = list(string)
  default     = []
}

variable "alert_email" {
  description = "An email address every alert notifies through a channel made here; empty for none."
  type        = string
  default     = ""
}

variable "alert_outbox_age_seconds" {
  description = "Alert when an outbox event has waited longer than this to be published."
  type        = number
  default     = 300
}

variable "alert_5xx_ratio" {
  description = "Alert when more than this share of a function's answers are 5xx over 5 minutes."
  type        = number
  default     = 0.05
}

variable "alert_db_connections_ratio" {
  description = "Alert when PostgreSQL backends exceed this share of the functions' connection budget (locals.tf)."
  type        = number
  default     = 0.9
}

variable "reminders_schedule" {
  description = "Cron schedule of send-reminders (party reminders to confirmed guests)."
  type        = string
  default     = "*/15 * * * *"
}

variable "public_base_url" {
  description = "The app's public base URL (the gateway's, `terraform output base_url`, or a custom domain), used in the calendar links calendar-link hands out. Empty on the first apply, when the gateway does not exist yet; set it and apply again."
  type        = string
  default     = ""

  validation {
    condition     = var.public_base_url == "" || can(regex("^https://[^/]+$", var.public_base_url))
    error_message = "public_base_url must be https://<host>, without a path or a trailing slash."
  }
}
