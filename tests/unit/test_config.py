from pathlib import Path

import pytest

from realm.config import ConfigError, load


def test_local_defaults_need_nothing_from_the_environment() -> None:
    settings = load({})
    assert settings.env == "local"
    assert settings.project_id == "realm-local"
    assert settings.issuer == "https://securetoken.google.com/realm-local"
    assert settings.local_key_file == Path(".realm/local-signing-key.pem").absolute()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REALM_ENV": "prod"}, "REALM_ENV"),
        ({"REALM_DB_POOL_SIZE": "lots"}, "REALM_DB_POOL_SIZE"),
        ({"REALM_DB_POOL_SIZE": "0"}, "REALM_DB_POOL_SIZE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://h/db?sslmode=allow"}, "DATABASE_URL"),
        ({"REALM_PROJECT_ID": "Not A Project"}, "REALM_PROJECT_ID"),
        ({"REALM_DB_INSTANCE": "just-a-name"}, "REALM_DB_INSTANCE"),
        ({"REALM_MAX_UPLOAD_BYTES": "-1"}, "REALM_MAX_UPLOAD_BYTES"),
        ({"REALM_QUOTAS": "invites=many/3600"}, "REALM_QUOTAS"),
        ({"REALM_QUOTAS": "invites=0/3600"}, "REALM_QUOTAS"),
        ({"REALM_QUOTAS": "invites=10"}, "REALM_QUOTAS"),
    ],
)
def test_an_invalid_variable_is_named_in_the_error(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load(env)


CLOUD = {
    "REALM_ENV": "cloud",
    "REALM_PROJECT_ID": "realm-prod",
    "REALM_DB_INSTANCE": "realm-prod:europe-west1:realm",
    "REALM_DB_USER": "list-parties@realm-prod.iam",
    "REALM_MEDIA_BUCKET": "realm-prod-media",
}


def test_the_cloud_configuration_uses_google_keys_and_the_connector() -> None:
    settings = load(CLOUD)
    assert settings.local_key_file is None
    assert settings.database_url is None
    assert settings.db_instance == "realm-prod:europe-west1:realm"


def test_local_token_signing_is_refused_in_the_cloud() -> None:
    with pytest.raises(ConfigError, match=r"^REALM_LOCAL_KEY_FILE: local token signing is refused"):
        load({**CLOUD, "REALM_LOCAL_KEY_FILE": "key.pem"})


@pytest.mark.parametrize("missing", ["REALM_PROJECT_ID", "REALM_DB_INSTANCE", "REALM_DB_USER"])
def test_the_cloud_configuration_requires_its_variables(missing: str) -> None:
    env = {k: v for k, v in CLOUD.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing}: required"):
        load(env)


def test_a_deployed_function_without_realm_env_does_not_fall_back_to_local() -> None:
    with pytest.raises(ConfigError, match=r"^REALM_ENV: required"):
        load({"K_SERVICE": "list-parties"})


def test_quotas_are_overridden_by_action() -> None:
    settings = load({"REALM_QUOTAS": "invites=10/60, contacts=5/86400"})

    assert settings.quotas == {"invites": (10, 60), "contacts": (5, 86400)}


def test_every_outside_call_has_a_bound_by_default() -> None:
    bounds = load({}).bounds
    assert bounds.db_connect_seconds == 5
    assert bounds.db_statement_ms == 5000
    assert bounds.db_socket_seconds * 1000 > bounds.db_statement_ms
    assert all(value > 0 for value in vars(bounds).values())


def test_a_bound_is_read_from_its_variable() -> None:
    bounds = load(
        {"REALM_DB_SOCKET_TIMEOUT_SECONDS": "2.5", "REALM_DB_STATEMENT_TIMEOUT_MS": "1000"}
    ).bounds
    assert (bounds.db_socket_seconds, bounds.db_statement_ms) == (2.5, 1000)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REALM_DB_CONNECT_TIMEOUT_SECONDS", "soon"),
        ("REALM_DB_CONNECT_TIMEOUT_SECONDS", "0"),
        ("REALM_STORAGE_TIMEOUT_SECONDS", "nan"),
        ("REALM_STORAGE_TIMEOUT_SECONDS", "inf"),
        ("REALM_DB_POOL_WAIT_SECONDS", "-1"),
    ],
)
def test_an_invalid_bound_is_named_in_the_error(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load({variable: value})


def test_the_socket_must_wait_longer_than_a_statement_may_run() -> None:
    # Otherwise a slow statement loses the connection instead of being cancelled by the server.
    with pytest.raises(ConfigError, match=r"^REALM_DB_SOCKET_TIMEOUT_SECONDS: "):
        load({"REALM_DB_SOCKET_TIMEOUT_SECONDS": "5", "REALM_DB_STATEMENT_TIMEOUT_MS": "5000"})
