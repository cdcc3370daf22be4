#!/usr/bin/env bash
# First deploy into an empty Google Cloud project, run once by an operator with Owner on it
# (gcloud auth login && gcloud auth application-default login). See docs/operations.md.
#
#   deploy/bootstrap.sh PROJECT_ID GITHUB_OWNER GITHUB_REPOSITORY [REGION]
#
# 1. enables the APIs terraform itself needs to start (it enables the rest);
# 2. creates the terraform state bucket gs://PROJECT_ID-tfstate (versioned, private);
# 3. builds the archives, `terraform init` + `terraform apply` with the operator's credentials,
#    which also creates the deployer account and the Workload Identity Federation for CD;
# 4. prints the values the CD workflow needs and the one-time database step.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
PROJECT_ID="$1"
GITHUB_OWNER="$2"
GITHUB_REPOSITORY="$3"
REGION="${4:-europe-west1}"
STATE_BUCKET="${PROJECT_ID}-tfstate"
PYTHON="${PYTHON:-.venv/bin/python}"

echo "== enabling bootstrap APIs in $PROJECT_ID"
gcloud services enable --project "$PROJECT_ID" \
  serviceusage.googleapis.com cloudresourcemanager.googleapis.com iam.googleapis.com \
  storage.googleapis.com

echo "== state bucket gs://$STATE_BUCKET"
if ! gcloud storage buckets describe "gs://$STATE_BUCKET" --project "$PROJECT_ID" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://$STATE_BUCKET" --project "$PROJECT_ID" \
    --location "$REGION" --uniform-bucket-level-access --public-access-prevention
fi
gcloud storage buckets update "gs://$STATE_BUCKET" --versioning

echo "== building function archives"
"$PYTHON" -m deploy.build

export TF_VAR_project_id="$PROJECT_ID" TF_VAR_region="$REGION"
export TF_VAR_github_owner="$GITHUB_OWNER" TF_VAR_github_repository="$GITHUB_REPOSITORY"
echo "== terraform init + apply"
terraform -chdir=terraform init -backend-config="bucket=$STATE_BUCKET"
terraform -chdir=terraform apply

cat <<EOT

== done. Next:
1. One-time database step (lets the deployer own the schema), then migrate:
     gcloud sql users set-password postgres --instance=$(terraform -chdir=terraform output -raw db_instance_connection_name | cut -d: -f3) --project=$PROJECT_ID --prompt-for-password
     gcloud auth application-default login --impersonate-service-account=$(terraform -chdir=terraform output -raw deployer_service_account)
     deploy/migrate.sh bootstrap
     deploy/migrate.sh
   then set the postgres password to a long random value nobody keeps.
2. GitHub repository variables (Settings > Secrets and variables > Actions > Variables):
     GCP_PROJECT_ID=$PROJECT_ID
     GCP_WORKLOAD_IDENTITY_PROVIDER=$(terraform -chdir=terraform output -raw workload_identity_provider)
     GCP_DEPLOYER_SERVICE_ACCOUNT=$(terraform -chdir=terraform output -raw deployer_service_account)
     TF_STATE_BUCKET=$STATE_BUCKET
3. Push to the production branch: CD takes over.
   The app's base URL: $(terraform -chdir=terraform output -raw base_url)
EOT
