# Production: `terraform -chdir=terraform plan -var-file=environments/production.tfvars`
# with TF_VAR_project_id (and the GitHub variables) set, state in gs://<project>-tfstate.
# The defaults of variables.tf are production's; this file names the choices that differ
# between environments, so that staging's file can be read against it line by line.
environment          = "production"
deploy_branch        = "production"
db_tier              = "db-custom-2-7680"
db_availability_type = "REGIONAL"
