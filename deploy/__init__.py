"""Deployment tooling: per-function source archives, the API Gateway document, migrations."""
