"""checkov over terraform/, in its own virtual environment (deploy/checkov.sh creates it once)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.infra.conftest import ROOT

# Checks that must run and pass on every resource they apply to; none may be skipped.
REQUIRED = {
    "CKV_GCP_6": "Cloud SQL requires TLS on every connection",
    "CKV_GCP_11": "Cloud SQL is not open to the world",
    "CKV_GCP_14": "Cloud SQL backups are on",
    "CKV_GCP_28": "no bucket is publicly readable",
    "CKV_GCP_29": "buckets use uniform bucket-level access",
    "CKV_GCP_114": "buckets enforce public access prevention",
    "CKV_GCP_78": "buckets are versioned",
    "CKV_GCP_99": "no topic is publicly accessible",
    "CKV_GCP_101": "the image repository is not public",
    "CKV_GCP_41": "no project-wide Service Account User / Token Creator",
    "CKV_GCP_42": "no service account is a project admin",
    "CKV_GCP_46": "the default service account is not granted project roles",
    "CKV_GCP_117": "no basic role (owner/editor/viewer) at project level",
    "CKV_GCP_118": "the workload identity provider is restricted",
    "CKV_GCP_125": "the GitHub OIDC trust pins repository and branch",
    "CKV_GCP_51": "log_checkpoints",
    "CKV_GCP_52": "log_connections",
    "CKV_GCP_53": "log_disconnections",
    "CKV_GCP_54": "log_lock_waits",
    "CKV_GCP_55": "log_min_messages",
    "CKV_GCP_56": "log_temp_files",
    "CKV_GCP_57": "log_min_duration_statement",
    "CKV_GCP_108": "log_hostname",
    "CKV_GCP_109": "log levels",
    "CKV_GCP_110": "pgAudit",
    "CKV_GCP_111": "log_statement",
    "CKV2_GCP_13": "log_duration",
}


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    if os.environ.get("REALM_SKIP_CHECKOV"):
        pytest.skip("SKIPPED LOUDLY: REALM_SKIP_CHECKOV is set, checkov did not run")
    if shutil.which("python3") is None:
        pytest.skip("SKIPPED LOUDLY: no python3 to create .venv-checkov")
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "checkov.sh"), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    if not result.stdout.strip().startswith(("{", "[")):
        pytest.fail(f"checkov did not report (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    if isinstance(report, list):  # one report per framework
        report = next(r for r in report if r.get("check_type") == "terraform")
    assert isinstance(report, dict)
    return report


def test_checkov_finds_no_failing_check_in_the_terraform(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"].get("failed_checks", [])
    summary = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in failed
    ]
    assert not failed, "fix, or skip inline with #checkov:skip=ID:reason:\n" + "\n".join(summary)
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_checkov_runs_and_passes_every_required_check_without_skips(
    checkov_report: dict[str, Any],
) -> None:
    results = checkov_report["results"]
    passed = {c["check_id"] for c in results.get("passed_checks", [])}
    skipped = {c["check_id"] for c in results.get("skipped_checks", [])}
    not_run = sorted(set(REQUIRED) - passed)
    assert not not_run, f"required checks that did not pass anywhere: {not_run}"
    assert not set(REQUIRED) & skipped, (
        f"required checks skipped: {sorted(set(REQUIRED) & skipped)}"
    )


def test_every_deliberate_checkov_skip_is_inline_with_a_reason(
    checkov_report: dict[str, Any],
) -> None:
    for check in checkov_report["results"].get("skipped_checks", []):
        reason = ((check.get("check_result") or {}).get("suppress_comment") or "").strip()
        where = f"{check['check_id']} on {check['resource']}"
        assert reason != "No comment provided", f"{where}: skip without a reason"
        assert len(reason) >= 20, f"{where}: reason too short: {reason!r}"
