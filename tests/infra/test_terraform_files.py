"""The terraform parses, is formatted, and has the variables, providers and outputs it promises."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.infra.conftest import TERRAFORM_DIR, Terraform

# Resources that exist only in the google-beta provider; everything else must use google (GA).
BETA_ONLY = {
    "google_api_gateway_api",
    "google_api_gateway_api_config",
    "google_api_gateway_gateway",
    "google_firebase_project",
    "google_project_service_identity",
}


def test_every_terraform_file_parses_with_python_hcl2(terraform: Terraform) -> None:
    assert set(terraform.files) == {p.name for p in TERRAFORM_DIR.glob("*.tf")}
    assert terraform.resources, "no resource parsed"


def test_terraform_fmt_check_passes_where_terraform_is_installed() -> None:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip(
            "SKIPPED LOUDLY: no `terraform` binary on PATH, so `terraform fmt -check` did not run; "
            "install terraform >= 1.6 to check formatting"
        )
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


def test_google_provider_is_pinned_to_6_x_and_google_beta_is_used_only_where_needed(
    terraform: Terraform,
) -> None:
    required = terraform.files["versions.tf"]["terraform"][0]["required_providers"][0]
    assert required["google"]["source"] == "hashicorp/google"
    assert required["google"]["version"] == "~> 6.0"
    assert required["google-beta"]["version"] == "~> 6.0"
    beta = {
        rtype
        for (rtype, _), body in terraform.resources.items()
        if "google-beta" in str(body.get("provider", ""))
    }
    assert beta <= BETA_ONLY, f"google-beta used where GA suffices: {sorted(beta - BETA_ONLY)}"
    for (rtype, name), body in terraform.resources.items():
        if rtype in BETA_ONLY:
            assert "google-beta" in str(body.get("provider")), f"{rtype}.{name} needs google-beta"


def test_variables_are_project_id_region_defaulting_to_europe_west1_and_environment(
    terraform: Terraform,
) -> None:
    assert "default" not in terraform.variables["project_id"]
    assert terraform.default("region") == "europe-west1"
    assert "environment" in terraform.variables


def test_outputs_give_the_apps_base_url_and_each_functions_name(terraform: Terraform) -> None:
    assert "google_api_gateway_gateway.realm.default_hostname" in str(
        terraform.outputs["base_url"]["value"]
    )
    assert "google_cloudfunctions2_function.function" in str(
        terraform.outputs["function_names"]["value"]
    )


def test_state_is_kept_in_a_gcs_backend(terraform: Terraform) -> None:
    backend = terraform.files["versions.tf"]["terraform"][0]["backend"]
    assert "gcs" in backend[0]


def test_no_service_account_key_or_secret_value_is_declared(terraform: Terraform) -> None:
    assert not terraform.of_type("google_service_account_key")
    assert not re.search(r"(?i)\bpassword\s*=", terraform.text)
    env = terraform.resource("google_cloudfunctions2_function", "function")["service_config"][0]
    keys = set(terraform.locals["common_env"]) | set(
        re.findall(r"\b([A-Z][A-Z0-9_]+)\s*[=:]", str(env["environment_variables"]))
    )
    assert keys, "no environment variables found"
    for key in keys:
        assert not re.search(r"PASSWORD|SECRET|PRIVATE_KEY|TOKEN", key), key
