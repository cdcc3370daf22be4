# Staging: the same configuration in a project of its own (its own state bucket, its own
# Firebase project, its own deployer and Workload Identity pool), smaller and cheaper.
#   deploy/bootstrap.sh <staging-project> <owner> <repo>     (once, creates gs://<project>-tfstate)
#   terraform -chdir=terraform init -reconfigure -backend-config=bucket=<staging-project>-tfstate
#   terraform -chdir=terraform apply -var-file=environments/staging.tfvars
# docs/operations.md ("Staging") describes the whole path.
environment          = "staging"
deploy_branch        = "staging"
db_tier              = "db-custom-1-3840"
db_availability_type = "ZONAL"
relay_schedule       = "* * * * *"
