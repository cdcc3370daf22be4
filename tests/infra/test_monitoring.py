"""Alerts (terraform/monitoring.tf) and the environments (terraform/environments/), offline:
parsed with python-hcl2 and checked against what the code logs and what the docs say."""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest

from realm.events.relay import RelayReport
from tests.infra.conftest import ROOT, TERRAFORM_DIR, Terraform, block, unquote

POLICIES = {
    "outbox_backlog_age": "runbook-an-outbox-backlog",
    "dead_letters": "runbook-a-dead-letter-backlog",
    "function_5xx": "runbook-5xx-from-a-function",
    "relay_failures": "runbook-an-outbox-backlog",
    "db_connections": "runbook-database-connections",
}
OPERATIONS = ROOT / "docs" / "operations.md"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.M)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_each_alert_exists_notifies_the_channels_and_links_its_runbook(
    terraform: Terraform,
) -> None:
    policies = terraform.of_type("google_monitoring_alert_policy")
    assert set(policies) == set(POLICIES)
    anchors = _anchors(OPERATIONS.read_text(encoding="utf-8"))
    for name, anchor in POLICIES.items():
        policy = policies[name]
        assert policy["notification_channels"] == "${local.alert_channels}", name
        content = block(policy, "documentation")["content"]
        assert f"#{anchor}" in content, name
        assert anchor in anchors, f"docs/operations.md has no heading for #{anchor}"


def test_the_channels_are_the_variable_plus_an_optional_email(terraform: Terraform) -> None:
    assert terraform.default("notification_channels") == []
    assert terraform.default("alert_email") == ""
    channels = terraform.locals["alert_channels"]
    assert "var.notification_channels" in channels
    assert "google_monitoring_notification_channel.email[*].id" in channels
    email = terraform.resource("google_monitoring_notification_channel", "email")
    assert email["count"] == '${var.alert_email == "" ? 0 : 1}'


def test_the_outbox_alerts_read_fields_the_relay_really_logs(terraform: Terraform) -> None:
    logged = set(RelayReport().as_dict())
    metrics = terraform.of_type("google_logging_metric")
    for name, metric in metrics.items():
        for used in re.findall(r"jsonPayload\.relay\.([a-z_]+)", str(metric)):
            assert used in logged, f"{name} reads relay.{used}, which the relay does not log"
    assert "oldest_pending_seconds" in metrics["outbox_oldest_pending"]["value_extractor"]
    assert 'service_name=\\"relay-outbox\\"' in metrics["relay_failed"]["filter"] or (
        'service_name="relay-outbox"' in metrics["relay_failed"]["filter"]
    )


def _conditions(terraform: Terraform, policy: str) -> list[dict[str, Any]]:
    found = terraform.resource("google_monitoring_alert_policy", policy)["conditions"]
    assert isinstance(found, list)
    return found


def test_dead_letter_alert_watches_every_dead_letter_subscription(terraform: Terraform) -> None:
    [condition] = _conditions(terraform, "dead_letters")
    watched = block(condition, "condition_threshold")["filter"]
    assert "num_undelivered_messages" in watched
    assert "-dead-letter" in watched
    kept = terraform.resource("google_pubsub_subscription", "dead_letter")
    assert kept["name"] == "${each.value}-dead-letter", "the filter's suffix names them"


def test_the_5xx_alert_is_a_ratio_per_function(terraform: Terraform) -> None:
    [condition] = _conditions(terraform, "function_5xx")
    query = block(condition, "condition_prometheus_query_language")["query"]
    assert query.count("sum by (service_name)") == 2
    assert 'response_code_class=\\"5xx\\"' in query or 'response_code_class="5xx"' in query
    assert "var.alert_5xx_ratio" in query


def test_the_relay_alert_also_fires_when_the_relay_stops_being_called(
    terraform: Terraform,
) -> None:
    kinds = {
        next(k for k in c if k.startswith("condition_"))
        for c in _conditions(terraform, "relay_failures")
    }
    assert kinds == {"condition_threshold", "condition_absent"}


def test_the_connections_alert_is_sized_from_the_budget_of_locals(terraform: Terraform) -> None:
    [condition] = _conditions(terraform, "db_connections")
    threshold = block(condition, "condition_threshold")
    assert "local.db_connections_budget" in str(threshold["threshold_value"])
    assert "num_backends" in threshold["filter"]
    assert 0 < terraform.default("alert_db_connections_ratio") < 1


def tfvars(environment: str) -> dict[str, Any]:
    path = TERRAFORM_DIR / "environments" / f"{environment}.tfvars"
    with path.open(encoding="utf-8") as handle:
        return {k: unquote(v) for k, v in hcl2.load(handle).items() if not k.startswith("__")}


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_each_environment_file_sets_only_declared_variables(
    terraform: Terraform, environment: str
) -> None:
    values = tfvars(environment)
    assert set(values) <= set(terraform.variables), set(values) - set(terraform.variables)
    assert values["environment"] == environment
    assert "project_id" not in values, "given at plan time: one file serves any project"


def test_staging_is_smaller_and_deploys_from_its_own_branch() -> None:
    production, staging = tfvars("production"), tfvars("staging")
    assert staging["deploy_branch"] != production["deploy_branch"]
    assert staging["db_availability_type"] == "ZONAL"
