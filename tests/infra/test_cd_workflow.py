"""The CD workflow: push to production -> tests -> build -> migrate -> terraform apply, keyless."""

from __future__ import annotations

import re

from tests.infra.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def test_deploys_run_on_push_to_the_production_branch_only() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert re.search(r"on:\s*\n\s+push:\s*\n\s+branches:\s*\[production\]", text)
    assert "pull_request" not in text


def test_the_steps_run_in_order_tests_build_migrate_apply() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    order = [
        text.index("run: make test"),
        text.index("needs: test"),
        text.index("run: make build"),
        text.index("run: deploy/migrate.sh"),
        text.index("terraform -chdir=terraform apply"),
    ]
    assert order == sorted(order)


def test_google_cloud_is_reached_through_workload_identity_federation_without_a_key() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "google-github-actions/auth@" in text
    assert "workload_identity_provider:" in text
    assert "id-token: write" in text
    assert "credentials_json" not in text
    assert "secrets." not in text, "nothing the deploy needs is secret"
    # A GitHub environment would change the OIDC subject that terraform/cicd.tf pins.
    assert not re.search(r"^\s+environment:", text, re.M)


def test_ci_and_the_build_install_from_the_lock_file_through_make() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "pip install" not in text, "CI installs what make installs: uv sync --locked"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "sync --locked" in makefile
    assert (ROOT / "uv.lock").is_file()
