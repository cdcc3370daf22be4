"""Structure of the cloud side: what DESIGN.md section 9 and issue 5 require, checked offline."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from tests.infra.conftest import FUNCTIONS_DIR, ROOT, Terraform, block, function_folders

READ_ONLY = ("me", "list_parties", "get_party", "list_guests", "calendar", "find_users")
TOPICS = {
    "invite-created",
    "invite-responded",
    "photo-uploaded",
    "party-updated",
    "party-cancelled",
    "waitlist-promoted",
    "cohost-added",
    "party-reminder",
    "account-deleted",
}
# HTTP functions that Cloud Scheduler calls; every other HTTP function is behind the gateway.
SCHEDULED = {"relay_outbox", "send_reminders"}
CLOUD_ENV = {
    "REALM_ENV",
    "REALM_PROJECT_ID",
    "REALM_DB_INSTANCE",
    "REALM_DB_NAME",
    "REALM_DB_USER",
    "REALM_DB_POOL_SIZE",
    "REALM_MEDIA_BUCKET",
    "REALM_EVENT_MAX_AGE_SECONDS",
}


def test_every_folder_in_functions_has_a_deployed_function_and_its_own_service_account(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    folders = function_folders()
    assert folders, f"no functions/<name>/main.py under {FUNCTIONS_DIR}"
    missing = sorted(set(folders) - set(functions))
    assert not missing, f"functions/ folders with no deployment in terraform/locals.tf: {missing}"
    stale = sorted(set(functions) - set(folders))
    assert not stale, f"terraform deploys functions that have no functions/<name>/main.py: {stale}"

    fn = terraform.resource("google_cloudfunctions2_function", "function")
    sa = terraform.resource("google_service_account", "function")
    assert fn["for_each"] == sa["for_each"] == "${local.functions}"
    assert "each.key" in sa["account_id"], "one service account per function"
    service = block(fn, "service_config")
    assert service["service_account_email"] == "${google_service_account.function[each.key].email}"
    build = block(fn, "build_config")
    assert build["entry_point"] == "${each.key}"
    assert build["runtime"] == "python312"
    assert fn["name"] == '${replace(each.key, "_", "-")}'


def test_every_topic_has_a_subscription_into_a_function_and_a_dead_letter_topic(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    assert set(re.findall(r"[a-z]+-[a-z]+", str(terraform.locals["topics"]))) == TOPICS
    subscribed = {t for f in functions.values() for t in f["subscribes"]}
    assert subscribed == TOPICS, f"topics without a subscriber: {sorted(TOPICS - subscribed)}"
    published = {t for f in functions.values() for t in f["publishes"]}
    assert published == TOPICS
    assert terraform.resource("google_pubsub_topic", "dead_letter")["for_each"] == "${local.topics}"
    push = terraform.resource("google_pubsub_subscription", "push")
    assert push["for_each"] == "${local.subscriptions}"
    dead = block(push, "dead_letter_policy")
    assert dead["dead_letter_topic"] == "${google_pubsub_topic.dead_letter[each.value.topic].id}"
    kept = terraform.resource("google_pubsub_subscription", "dead_letter")
    assert kept["for_each"] == "${local.topics}", "dead letters must be kept somewhere readable"


def test_event_functions_retry_with_a_bounded_policy_before_dead_lettering(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    events = {k for k, f in functions.items() if f["trigger"] == "pubsub"}
    assert events == {"notify_guest", "make_thumbnail", "erase_account"}
    push = terraform.resource("google_pubsub_subscription", "push")
    retry = block(push, "retry_policy")
    assert retry["minimum_backoff"] == "10s"
    assert retry["maximum_backoff"] == "600s"
    attempts = block(push, "dead_letter_policy")["max_delivery_attempts"]
    assert 5 <= attempts <= 100
    oidc = block(block(push, "push_config"), "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.pusher.email}"
    # Push endpoints are the event functions themselves, each invocable by the pusher only.
    assert (
        "google_cloudfunctions2_function.function[each.value.function]"
        in block(push, "push_config")["push_endpoint"]
    )
    for k in events:
        assert functions[k]["public"] is False


def test_no_iam_member_anywhere_is_all_users_or_all_authenticated_users(
    terraform: Terraform,
) -> None:
    for (rtype, name), body in terraform.resources.items():
        text = str({k: v for k, v in body.items() if k in ("member", "members", "binding")})
        assert "allUsers" not in text, f"{rtype}.{name}"
        assert "allAuthenticatedUsers" not in text, f"{rtype}.{name}"
    assert "allUsers" not in terraform.text.replace("#", "")
    assert "allAuthenticatedUsers" not in terraform.text


def test_functions_are_invoked_only_by_the_gateway_the_scheduler_or_pubsub_push(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    invokers = terraform.of_type("google_cloud_run_v2_service_iam_member")
    assert set(invokers) == {"gateway_invoker", "scheduler_invoker", "pusher_invoker"}
    expected = {
        "gateway_invoker": "${google_service_account.gateway.member}",
        "scheduler_invoker": "${google_service_account.scheduler.member}",
        "pusher_invoker": "${google_service_account.pusher.member}",
    }
    for name, member in expected.items():
        assert invokers[name]["member"] == member
        assert invokers[name]["role"] == "roles/run.invoker"
    assert not terraform.of_type("google_cloudfunctions2_function_iam_member")
    assert not terraform.of_type("google_cloudfunctions2_function_iam_binding")
    public = {k for k, f in functions.items() if f["public"]}
    assert not SCHEDULED & public
    assert public == {k for k, f in functions.items() if f["trigger"] == "http"} - SCHEDULED
    ingress = block(
        terraform.resource("google_cloudfunctions2_function", "function"), "service_config"
    )["ingress_settings"]
    assert "ALLOW_INTERNAL_ONLY" in ingress


def test_every_bucket_has_uniform_access_and_enforced_public_access_prevention(
    terraform: Terraform,
) -> None:
    buckets = terraform.of_type("google_storage_bucket")
    assert set(buckets) >= {"media", "sources"}
    for name, bucket in buckets.items():
        assert bucket["uniform_bucket_level_access"] is True, name
        assert bucket["public_access_prevention"] == "enforced", name


def test_cloud_sql_is_closed_to_networks_uses_iam_auth_tls_backups_pitr_and_deletion_protection(
    terraform: Terraform,
) -> None:
    instance = terraform.resource("google_sql_database_instance", "main")
    settings = block(instance, "settings")
    ip = block(settings, "ip_configuration")
    assert "authorized_networks" not in ip, "no authorized network may be declared"
    assert "0.0.0.0" not in str(terraform.resources)  # noqa: S104 - looked for, not bound
    assert ip["ssl_mode"] in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
    flags = {f["name"]: f["value"] for f in settings["database_flags"]}
    assert flags["cloudsql.iam_authentication"] == "on"
    backup = block(settings, "backup_configuration")
    assert backup["enabled"] is True
    assert backup["point_in_time_recovery_enabled"] is True
    assert instance["deletion_protection"] is True
    assert settings["deletion_protection_enabled"] is True
    users = terraform.resource("google_sql_user", "function")
    assert users["for_each"] == "${local.db_functions}"
    assert users["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert not [u for u in terraform.of_type("google_sql_user").values() if "password" in u]


def test_connections_of_all_functions_at_max_instances_fit_under_the_database_limit(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    needed = sum(
        f["max_instances"] * f["pool_size"] for f in functions.values() if f["db"] != "none"
    )
    budget = terraform.default("db_max_connections") - terraform.default("db_reserved_connections")
    assert needed <= budget, f"{needed} connections at full scale-out > budget {budget}"
    for name, f in functions.items():
        if f["db"] != "none":
            assert f["pool_size"] <= f["concurrency"], name
    # The arithmetic written in locals.tf is the arithmetic of the declared numbers.
    assert re.search(rf"=\s*{needed} connections", terraform.texts["locals.tf"]), (
        f"update the connection budget comment in locals.tf: the total is now {needed}"
    )
    assert f"{needed} <= {budget}" in terraform.texts["locals.tf"]
    precondition = str(terraform.resource("google_sql_database_instance", "main")["lifecycle"])
    assert "local.db_connections_needed <= local.db_connections_budget" in precondition


def test_read_only_functions_get_no_pubsub_storage_write_firestore_or_database_write(
    functions: dict[str, dict[str, Any]],
) -> None:
    for name in READ_ONLY:
        f = functions[name]
        assert f["db"] == "read", name
        assert f["publishes"] == [], name
        assert f["firestore"] is False, name
        assert set(f["bucket_roles"]) <= {"roles/storage.objectViewer"}, name


def test_roles_are_granted_on_the_one_resource_they_concern(terraform: Terraform) -> None:
    assert terraform.resource("google_pubsub_topic_iam_member", "publisher")["topic"].startswith(
        "${google_pubsub_topic.topic["
    )
    assert terraform.resource("google_storage_bucket_iam_member", "media")["bucket"] == (
        "${google_storage_bucket.media.name}"
    )
    for name, binding in terraform.of_type("google_project_iam_member").items():
        if name.startswith("function_"):
            assert "condition" in binding, f"{name}: project-level role without a condition"


def test_every_function_gets_the_environment_the_cloud_configuration_requires(
    terraform: Terraform,
) -> None:
    env = block(
        terraform.resource("google_cloudfunctions2_function", "function"), "service_config"
    )["environment_variables"]
    keys = set(terraform.locals["common_env"]) | set(re.findall(r"\b(REALM_[A-Z_]+)\s*=", env))
    assert keys >= CLOUD_ENV, f"missing: {sorted(CLOUD_ENV - keys)}"
    assert terraform.locals["common_env"]["REALM_ENV"] == "cloud"


def scheduled_job(terraform: Terraform, function: str) -> dict[str, Any]:
    """The scheduler job that calls ``function``: one for_each entry of scheduler.tf's job."""
    job = terraform.resource("google_cloud_scheduler_job", "job")
    assert job["for_each"] == "${local.scheduled_jobs}"
    assert function in terraform.locals["scheduled_jobs"], f"no scheduler job calls {function}"
    return job


def test_scheduler_calls_exactly_the_private_http_functions(terraform: Terraform) -> None:
    assert set(terraform.locals["scheduled_jobs"]) == SCHEDULED


def test_scheduler_calls_relay_outbox_every_minute_with_an_oidc_token(terraform: Terraform) -> None:
    job = scheduled_job(terraform, "relay_outbox")
    target = block(job, "http_target")
    assert "function[each.key]" in target["uri"]
    oidc = block(target, "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.scheduler.email}"
    assert terraform.locals["scheduled_jobs"]["relay_outbox"]["schedule"] == "${var.relay_schedule}"
    assert terraform.default("relay_schedule") == "* * * * *"


def test_scheduler_calls_send_reminders_every_15_minutes_with_an_oidc_token(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    job = scheduled_job(terraform, "send_reminders")
    target = block(job, "http_target")
    assert "function[each.key]" in target["uri"]
    assert target["http_method"] == "POST"
    oidc = block(target, "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.scheduler.email}"
    schedule = terraform.locals["scheduled_jobs"]["send_reminders"]["schedule"]
    assert schedule == "${var.reminders_schedule}"
    assert terraform.default("reminders_schedule") == "*/15 * * * *"
    assert functions["send_reminders"]["publishes"] == ["party-reminder"]


def test_notify_guest_hears_every_party_event_and_may_use_the_database(
    functions: dict[str, dict[str, Any]],
) -> None:
    from realm.events import outbox, publishing

    notify = functions["notify_guest"]
    routed = {topic for topic, fn in publishing.PUSH_ROUTES.items() if fn == "notify-guest"}
    assert set(notify["subscribes"]) == routed
    assert set(outbox.TOPICS) == TOPICS, "every event type has its topic in terraform"
    assert notify["db"] == "write", "it keeps each recipient's progress in PostgreSQL"
    assert notify["pool_size"] == 1


def test_firestore_rules_are_released_from_the_repository_rules_file(terraform: Terraform) -> None:
    ruleset = terraform.resource("google_firebaserules_ruleset", "firestore")
    files = block(block(ruleset, "source"), "files")
    assert files["content"] == '${file("${path.module}/../firestore.rules")}'
    release = terraform.resource("google_firebaserules_release", "firestore")
    assert release["name"] == "cloud.firestore"
    rules = ROOT / "firestore.rules"
    if rules.is_file():
        text = rules.read_text(encoding="utf-8")
        assert "notifications" in text
        assert not re.search(r"allow\s+[^;]*\bwrite\b[^;]*:\s*if\s+true", text)


def test_gateway_checks_firebase_tokens_and_calls_functions_as_its_own_account(
    terraform: Terraform,
) -> None:
    config = terraform.resource("google_api_gateway_api_config", "realm")
    backend = block(block(config, "gateway_config"), "backend_config")
    assert backend["google_service_account"] == "${google_service_account.gateway.email}"
    assert "templatefile(local.gateway_template" in str(config["openapi_documents"])


def test_ci_identity_is_federated_and_limited_to_the_deploy_branch(terraform: Terraform) -> None:
    provider = terraform.resource("google_iam_workload_identity_pool_provider", "github")
    assert "refs/heads/${var.deploy_branch}" in provider["attribute_condition"]
    assert terraform.default("deploy_branch") == "production"
    roles = str(terraform.locals["deployer_roles"])
    assert "roles/owner" not in roles
    assert "roles/editor" not in roles


@pytest.mark.parametrize("folder", ["notify_guest", "make_thumbnail"])
def test_event_functions_declare_their_cloudevent_signature_for_pubsub_push(folder: str) -> None:
    main = FUNCTIONS_DIR / folder / "main.py"
    if not main.is_file():
        pytest.skip(f"functions/{folder}/main.py does not exist yet")
    tree = ast.parse(main.read_text(encoding="utf-8"))
    entry = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == folder]
    assert entry, f"functions/{folder}/main.py defines no {folder}()"
    decorators = {ast.unparse(d) for d in entry[0].decorator_list}
    assert "functions_framework.cloud_event" in decorators, (
        "a push subscription delivers an HTTP request; @functions_framework.cloud_event makes the "
        "Functions Framework hand it to the function as a CloudEvent"
    )


def test_only_erase_account_deletes_auth_users_and_media_and_each_with_one_narrow_role(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    for name in ("auth_user_deleters", "media_erasers"):
        assert re.findall(r'"(\w+)"', str(terraform.locals[name])) == ["erase_account"], name
    deleter = terraform.resource("google_project_iam_custom_role", "auth_user_deleter")
    assert deleter["permissions"] == ["firebaseauth.users.delete"]
    eraser = terraform.resource("google_project_iam_custom_role", "media_eraser")
    assert eraser["permissions"] == ["storage.objects.list", "storage.objects.delete"]
    binding = terraform.resource("google_storage_bucket_iam_member", "media_eraser")
    assert binding["bucket"] == "${google_storage_bucket.media.name}"
    assert functions["erase_account"]["subscribes"] == ["account-deleted"]
    assert functions["erase_account"]["bucket_roles"] == []
    assert not any("firebaseauth" in str(f) for f in functions.values())


def test_export_reads_firestore_without_writing_it(
    terraform: Terraform, functions: dict[str, dict[str, Any]]
) -> None:
    assert functions["export_my_data"]["firestore"] is False
    assert functions["export_my_data"]["db"] == "read"
    reader = terraform.resource("google_project_iam_member", "function_firestore_reader")
    assert reader["role"] == "roles/datastore.viewer"
    assert re.findall(r'"(\w+)"', str(terraform.locals["firestore_readers"])) == ["export_my_data"]
