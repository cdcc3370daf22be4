terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    # Only for what the GA provider does not have: API Gateway, the Firebase project and the
    # Pub/Sub service identity (see gateway.tf, firestore.tf, pubsub.tf).
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.0"
    }
  }

  # State lives in a GCS bucket created by deploy/bootstrap.sh; its name is given at init time:
  #   terraform init -backend-config="bucket=<project>-tfstate"
  backend "gcs" {
    prefix = "realm"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # Quota and billing of API calls go to the project itself, which Firebase APIs require.
  user_project_override = true
  billing_project       = var.project_id
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
