output "base_url" {
  description = "The app's base URL: https://<gateway>/<function-name>."
  value       = "https://${google_api_gateway_gateway.realm.default_hostname}"
}

output "function_names" {
  description = "Deployed function name of each folder in functions/."
  value       = { for k, f in google_cloudfunctions2_function.function : k => f.name }
}

output "function_urls" {
  description = "Private URLs of the functions (callable only by their invokers)."
  value       = { for k, f in google_cloudfunctions2_function.function : f.name => f.service_config[0].uri }
}

output "db_instance_connection_name" {
  description = "REALM_DB_INSTANCE: project:region:instance."
  value       = google_sql_database_instance.main.connection_name
}

output "db_name" {
  value = google_sql_database.realm.name
}

output "db_grants" {
  description = "IAM database user => read|write, applied by deploy/migrate.py after the migrations."
  value       = { for k, f in local.db_functions : local.db_user[k] => f.db }
}

output "db_deployer_user" {
  description = "IAM database user the migrations run as (the schema owner)."
  value       = google_sql_user.deployer.name
}

output "media_bucket" {
  value = google_storage_bucket.media.name
}

output "sources_bucket" {
  value = google_storage_bucket.sources.name
}

output "topics" {
  value = { for t in local.topics : t => { topic = google_pubsub_topic.topic[t].id, dead_letter = google_pubsub_topic.dead_letter[t].id } }
}

output "deployer_service_account" {
  description = "GCP_DEPLOYER_SERVICE_ACCOUNT of the CD workflow."
  value       = google_service_account.deployer.email
}

output "workload_identity_provider" {
  description = "GCP_WORKLOAD_IDENTITY_PROVIDER of the CD workflow."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "db_connection_budget" {
  description = "Connections the functions can hold at full scale-out, and the budget they must fit."
  value       = { needed = local.db_connections_needed, budget = local.db_connections_budget }
}
