# The app's one public entry point: API Gateway, in front of the private HTTP functions.
#
# Why API Gateway rather than an HTTPS load balancer with serverless NEGs: the gateway verifies
# the Firebase ID token (issuer, audience, signature, expiry) before a request reaches a function,
# so unauthenticated traffic never costs a function instance or a database connection; an HTTPS
# load balancer cannot check a Firebase token by itself (only IAP, which brings its own sign-in).
# The gateway is also billed per call with no fixed forwarding-rule cost, and its routes come
# from the API's own OpenAPI document (deploy/gateway.py turns the generated 3.1 document into
# the Swagger 2.0 it needs), so a new endpoint cannot be forgotten in the routing.
#
# What it does to a request: the gateway calls the function with its *own* OIDC token (of the
# gateway SA, the only invoker) in Authorization, and moves the user's Firebase token to
# X-Forwarded-Authorization. The functions verify the user's token again from there (defence in
# depth: a function never trusts that it was called through the gateway).
#
# The API Gateway resources exist only in the google-beta provider.

locals {
  gateway_template = "${local.dist_dir}/gateway/openapi2.json.tftpl"
  gateway_backends = {
    for k, f in local.functions : replace(k, "_", "-") => google_cloudfunctions2_function.function[k].service_config[0].uri
    if f.trigger == "http" && f.public
  }
}

resource "google_api_gateway_api" "realm" {
  provider     = google-beta
  api_id       = local.name_prefix
  display_name = "Realm (${var.environment})"
  labels       = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_api_gateway_api_config" "realm" {
  provider             = google-beta
  api                  = google_api_gateway_api.realm.api_id
  api_config_id_prefix = "${local.name_prefix}-"
  display_name         = "Realm (${var.environment})"
  labels               = local.labels

  openapi_documents {
    document {
      path = "openapi2.json"
      contents = base64encode(templatefile(local.gateway_template, {
        project_id = var.project_id
        backends   = local.gateway_backends
      }))
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway.email
    }
  }

  lifecycle {
    # A config is immutable: create the new one, switch the gateway, then drop the old one.
    create_before_destroy = true

    precondition {
      condition     = fileexists(local.gateway_template)
      error_message = "Missing ${local.gateway_template}: run `python -m deploy.build` (it needs shared/realm/openapi.json)."
    }
  }
}

resource "google_api_gateway_gateway" "realm" {
  provider     = google-beta
  region       = var.region
  gateway_id   = local.name_prefix
  api_config   = google_api_gateway_api_config.realm.id
  display_name = "Realm (${var.environment})"
  labels       = local.labels
}
