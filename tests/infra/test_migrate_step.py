"""deploy/migrate.py, offline: where it connects and what it grants."""

from __future__ import annotations

from typing import Any

import pytest

from deploy import migrate

OUTPUTS: dict[str, Any] = {
    "db_instance_connection_name": "realm-prod:europe-west1:realm-production-pg",
    "db_name": "realm",
    "db_deployer_user": "realm-deployer@realm-prod.iam",
    "media_bucket": "realm-prod-realm-production-media",
    "db_grants": {
        "realm-fn-me@realm-prod.iam": "read",
        "fn-create-party@realm-prod.iam": "write",
    },
}


class FakeCursor:
    def __init__(self, roles: list[str]) -> None:
        self.roles = roles
        self.statements: list[str] = []

    def execute(self, operation: str, args: Any = None) -> None:
        self.statements.append(operation)

    def fetchall(self) -> list[tuple[str]]:
        return [(r,) for r in self.roles]


def test_the_target_comes_from_terraform_outputs_and_environment_variables_win() -> None:
    target = migrate.resolve_target({}, OUTPUTS)
    assert target is not None
    assert target.project_id == "realm-prod"
    assert target.deployer_user == "realm-deployer@realm-prod.iam"
    env = {"REALM_DB_INSTANCE": "other-proj:europe-west1:x", "REALM_DB_USER": "me@x.iam"}
    assert migrate.resolve_target(env, OUTPUTS) == migrate.Target(
        project_id="other-proj",
        instance="other-proj:europe-west1:x",
        database="realm",
        deployer_user="me@x.iam",
        media_bucket=OUTPUTS["media_bucket"],
        grants=OUTPUTS["db_grants"],
    )


def test_before_the_first_apply_there_is_nothing_to_migrate() -> None:
    assert migrate.resolve_target({}, {}) is None


def test_read_users_get_select_only_and_write_users_get_dml_and_sequences() -> None:
    read = migrate.grant_statements("realm-fn-me@p.iam", "read")
    write = migrate.grant_statements("fn-create-party@p.iam", "write")
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "realm-fn-me@p.iam"' in read
    assert not [s for s in read if s.startswith("GRANT") and "INSERT" in s]
    assert any(s.startswith("REVOKE INSERT, UPDATE, DELETE") for s in read)
    assert any("INSERT, UPDATE, DELETE" in s and s.startswith("GRANT") for s in write)
    assert any("SEQUENCES" in s for s in write)
    with pytest.raises(migrate.MigrateError):
        migrate.grant_statements("x", "admin")


def test_identifiers_are_quoted_so_a_user_name_cannot_inject_sql() -> None:
    assert migrate.quote_ident('a"; DROP TABLE users; --') == '"a""; DROP TABLE users; --"'


def test_grants_skip_users_that_the_next_apply_will_create() -> None:
    cursor = FakeCursor(roles=["realm-fn-me@realm-prod.iam"])
    skipped = migrate.apply_grants(cursor, OUTPUTS["db_grants"])
    assert skipped == ["fn-create-party@realm-prod.iam"]
    assert all("fn-create-party" not in s for s in cursor.statements)
    assert any("realm-fn-me@realm-prod.iam" in s for s in cursor.statements)


def test_bootstrap_lets_the_deployer_create_objects_in_the_database_and_schema() -> None:
    statements = migrate.bootstrap_statements("realm-deployer@p.iam", "realm")
    assert (
        'GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "realm" TO "realm-deployer@p.iam"'
        in statements
    )
    assert 'GRANT USAGE, CREATE ON SCHEMA "public" TO "realm-deployer@p.iam"' in statements
