"""Configuration, read from the environment once and validated at import.

Every function reads the same variables; an invalid value stops the process at start-up with
an error that names the variable, rather than failing on some later request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from realm.errors import ConfigError

__all__ = ["Bounds", "ConfigError", "Settings", "load", "settings"]

Environment = Literal["local", "test", "cloud"]
_ENVIRONMENTS: tuple[Environment, ...] = ("local", "test", "cloud")
_INSTANCE = re.compile(r"^[a-z0-9-.:]+:[a-z0-9-]+:[a-z0-9-]+$")
_DB_URL = re.compile(r"^postgres(?:ql)?://")


@dataclass(frozen=True)
class Bounds:
    """How long any call to another service may take (seconds unless named ``_ms``).

    Every outside call is bounded, so that a dependency that is down or frozen costs a request
    a known time and ends in ``503 unavailable``, never in a hung worker. Defaults suit the
    cloud; tests shorten them. docs/operations/reliability.md lists each with its variable.
    """

    db_connect_seconds: float = 5.0
    db_socket_seconds: float = 10.0
    db_statement_ms: int = 5_000
    db_idle_in_transaction_ms: int = 10_000
    db_pool_wait_seconds: float = 3.0
    storage_seconds: float = 10.0
    storage_retry_seconds: float = 5.0
    publish_seconds: float = 2.0
    relay_publish_seconds: float = 20.0
    firestore_seconds: float = 10.0
    google_keys_seconds: float = 5.0
    signing_seconds: float = 5.0
    push_connect_seconds: float = 3.0
    push_read_seconds: float = 10.0
    body_read_seconds: float = 10.0
    # Firebase Auth's admin API (Identity Toolkit accounts:delete), per request.
    identity_seconds: float = 10.0


# variable → (field of Bounds, lowest, highest). Zero is allowed only where PostgreSQL reads it
# as "no limit" (the statement and idle timeouts: migrations and benchmark fills need that).
_BOUNDS: dict[str, tuple[str, float, float]] = {
    "REALM_DB_CONNECT_TIMEOUT_SECONDS": ("db_connect_seconds", 0.1, 120),
    "REALM_DB_SOCKET_TIMEOUT_SECONDS": ("db_socket_seconds", 0.1, 3600),
    "REALM_DB_STATEMENT_TIMEOUT_MS": ("db_statement_ms", 0, 3_600_000),
    "REALM_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": ("db_idle_in_transaction_ms", 0, 3_600_000),
    "REALM_DB_POOL_WAIT_SECONDS": ("db_pool_wait_seconds", 0, 120),
    "REALM_STORAGE_TIMEOUT_SECONDS": ("storage_seconds", 0.1, 600),
    "REALM_STORAGE_RETRY_SECONDS": ("storage_retry_seconds", 0, 600),
    "REALM_PUBLISH_TIMEOUT_SECONDS": ("publish_seconds", 0.1, 60),
    "REALM_RELAY_PUBLISH_TIMEOUT_SECONDS": ("relay_publish_seconds", 0.1, 600),
    "REALM_FIRESTORE_TIMEOUT_SECONDS": ("firestore_seconds", 0.1, 600),
    "REALM_GOOGLE_KEYS_TIMEOUT_SECONDS": ("google_keys_seconds", 0.1, 120),
    "REALM_SIGNING_TIMEOUT_SECONDS": ("signing_seconds", 0.1, 120),
    "REALM_PUSH_CONNECT_TIMEOUT_SECONDS": ("push_connect_seconds", 0.1, 60),
    "REALM_PUSH_READ_TIMEOUT_SECONDS": ("push_read_seconds", 0.1, 120),
    "REALM_BODY_READ_TIMEOUT_SECONDS": ("body_read_seconds", 0.1, 600),
    "REALM_IDENTITY_TIMEOUT_SECONDS": ("identity_seconds", 0.1, 120),
}


def _bounds(env: Mapping[str, str]) -> Bounds:
    values: dict[str, float | int] = {}
    defaults = Bounds()
    for name, (attribute, low, high) in _BOUNDS.items():
        default = getattr(defaults, attribute)
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
        if not low <= value <= high:  # also refuses nan and inf
            raise ConfigError(f"{name}: must be between {low:g} and {high:g}, got {raw}")
        values[attribute] = int(value) if isinstance(default, int) else value
    bounds = Bounds(**values)  # type: ignore[arg-type]
    if bounds.db_statement_ms and bounds.db_socket_seconds * 1000 <= bounds.db_statement_ms:
        # PostgreSQL must cancel a slow statement (the connection stays usable) before the
        # socket gives up on a server that does not answer at all (the connection is lost).
        raise ConfigError(
            "REALM_DB_SOCKET_TIMEOUT_SECONDS: must be longer than REALM_DB_STATEMENT_TIMEOUT_MS"
            f" ({bounds.db_socket_seconds:g}s <= {bounds.db_statement_ms}ms)"
        )
    return bounds


@dataclass(frozen=True)
class Settings:
    env: Environment
    project_id: str
    database_url: str | None
    db_instance: str | None
    db_name: str
    db_user: str | None
    db_ip_type: str
    db_pool_size: int
    state_dir: Path
    local_key_file: Path | None
    max_json_bytes: int
    max_upload_bytes: int
    max_image_pixels: int
    event_max_age_seconds: int
    media_bucket: str | None
    local_media_dir: Path
    public_base_url: str
    # gcp-storage-emulator (local runs and tests): media go there instead of local_media_dir.
    storage_emulator_host: str | None
    # The service account that signs photo URLs (IAM signBlob); found from the metadata
    # server when unset.
    signer_email: str | None
    # Overrides of the write quotas (realm.db.quotas): action -> (limit, period in seconds).
    quotas: Mapping[str, tuple[int, int]]
    # Invite links are "<this>/<token>": the app's deep link (realm.people.links).
    invite_link_base_url: str
    # Timeouts of every outside call (realm.config.Bounds).
    bounds: Bounds = Bounds()
    # Push (realm.events.push). fcm_endpoint: where FCM HTTP v1 is reached; None locally means
    # no push (a test process), and in the cloud it is always Google's own.
    fcm_endpoint: str | None = None
    push_concurrency: int = 16
    # The Firebase Auth emulator (host:port) whose unsigned tokens the verifier accepts; only
    # ever set with REALM_ENV=local and a demo- project (realm.edge.auth.EmulatorVerifier).
    auth_emulator_host: str | None = None

    @property
    def issuer(self) -> str:
        return f"https://securetoken.google.com/{self.project_id}"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


_LINK_BASE = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s?#]+$")


def _link_base(env: Mapping[str, str]) -> str:
    raw = env.get("REALM_INVITE_LINK_BASE_URL") or "realm://join"
    base = raw.rstrip("/")
    if not _LINK_BASE.match(base):
        raise ConfigError(
            "REALM_INVITE_LINK_BASE_URL: expected an absolute URL without query or fragment"
            f" (https://example.com/join, realm://join), got {raw!r}"
        )
    return base


FCM_ENDPOINT = "https://fcm.googleapis.com"
_LOCAL_URL = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$")


def _fcm_endpoint(env: Mapping[str, str], cloud: bool) -> str | None:
    """Google's FCM in the cloud; locally the dev stack's stand-in, on loopback, or nothing."""
    raw = (env.get("REALM_FCM_ENDPOINT") or "").rstrip("/")
    if cloud:
        if raw and raw != FCM_ENDPOINT:
            raise ConfigError(f"REALM_FCM_ENDPOINT: only {FCM_ENDPOINT} when REALM_ENV=cloud")
        return FCM_ENDPOINT
    if raw and not _LOCAL_URL.match(raw):
        raise ConfigError(
            f"REALM_FCM_ENDPOINT: locally the stand-in's http://127.0.0.1:<port>, got {raw!r}"
        )
    return raw or None


def _auth_emulator(env: Mapping[str, str], realm_env: str, project_id: str) -> str | None:
    """The Firebase Auth emulator's address, refused wherever its unsigned tokens could be
    taken for real ones: anywhere but a local run of a demo- project (which has no real users:
    Firebase reserves the prefix for projects that exist only in emulators)."""
    host = env.get("FIREBASE_AUTH_EMULATOR_HOST") or None
    if host is None:
        return None
    if realm_env != "local":
        raise ConfigError(
            f"FIREBASE_AUTH_EMULATOR_HOST: the Auth emulator's unsigned tokens are refused"
            f" when REALM_ENV={realm_env} (only REALM_ENV=local)"
        )
    if not project_id.startswith("demo-"):
        raise ConfigError(
            f"FIREBASE_AUTH_EMULATOR_HOST: needs a demo- project id (REALM_PROJECT_ID),"
            f" got {project_id!r}"
        )
    if not _HOST_PORT.match(host):
        raise ConfigError(f"FIREBASE_AUTH_EMULATOR_HOST: expected host:port, got {host!r}")
    return host


_QUOTA = re.compile(r"^([a-z_]+)=(\d{1,9})/(\d{1,8})$")


def _quotas(env: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    raw = env.get("REALM_QUOTAS") or ""
    found: dict[str, tuple[int, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        match = _QUOTA.match(item)
        if match is None or int(match[2]) < 1 or int(match[3]) < 1:
            raise ConfigError(f"REALM_QUOTAS: expected 'action=limit/seconds' items, got {item!r}")
        found[match[1]] = (int(match[2]), int(match[3]))
    return found


def load(env: Mapping[str, str]) -> Settings:
    """Builds the settings from ``env``, raising ConfigError for the first bad variable."""
    if "REALM_ENV" not in env and "K_SERVICE" in env:
        # On Cloud Run (K_SERVICE is set there) a forgotten variable must not mean "local".
        raise ConfigError("REALM_ENV: required on Cloud Functions / Cloud Run (set it to cloud)")
    raw_env = env.get("REALM_ENV", "local")
    realm_env = next((known for known in _ENVIRONMENTS if known == raw_env), None)
    if realm_env is None:
        raise ConfigError(f"REALM_ENV: must be one of {', '.join(_ENVIRONMENTS)}, got {raw_env!r}")
    cloud = realm_env == "cloud"

    project_id = env.get("REALM_PROJECT_ID") or env.get("GOOGLE_CLOUD_PROJECT") or ""
    if not project_id:
        if cloud:
            raise ConfigError("REALM_PROJECT_ID: required when REALM_ENV=cloud")
        project_id = "realm-local"
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,29}", project_id):
        raise ConfigError(f"REALM_PROJECT_ID: not a Google Cloud project id: {project_id!r}")

    database_url = env.get("DATABASE_URL") or None
    if database_url is not None and not _DB_URL.match(database_url):
        raise ConfigError("DATABASE_URL: must start with postgresql://")
    sslmode = parse_qs(urlsplit(database_url or "").query).get("sslmode", ["disable"])[0]
    if sslmode not in ("disable", "require", "verify-full"):
        raise ConfigError(
            f"DATABASE_URL: sslmode must be disable, require or verify-full, got {sslmode!r}"
        )
    db_instance = env.get("REALM_DB_INSTANCE") or None
    if db_instance is not None and not _INSTANCE.match(db_instance):
        raise ConfigError(
            f"REALM_DB_INSTANCE: expected 'project:region:instance', got {db_instance!r}"
        )
    db_user = env.get("REALM_DB_USER") or None
    if cloud and database_url is None:
        if db_instance is None:
            raise ConfigError("REALM_DB_INSTANCE: required when REALM_ENV=cloud")
        if db_user is None:
            raise ConfigError(
                "REALM_DB_USER: required when REALM_ENV=cloud (the IAM database user)"
            )

    state_dir = Path(env.get("REALM_STATE_DIR") or ".realm").absolute()
    key_raw = env.get("REALM_LOCAL_KEY_FILE")
    if cloud:
        if key_raw:
            raise ConfigError(
                "REALM_LOCAL_KEY_FILE: local token signing is refused when REALM_ENV=cloud"
            )
        local_key_file = None
    else:
        local_key_file = (
            Path(key_raw).absolute() if key_raw else state_dir / "local-signing-key.pem"
        )

    media_bucket = env.get("REALM_MEDIA_BUCKET") or None
    if cloud and media_bucket is None:
        raise ConfigError("REALM_MEDIA_BUCKET: required when REALM_ENV=cloud")
    storage_emulator_host = env.get("STORAGE_EMULATOR_HOST") or None
    if cloud and storage_emulator_host is not None:
        raise ConfigError("STORAGE_EMULATOR_HOST: refused when REALM_ENV=cloud")

    return Settings(
        env=realm_env,
        project_id=project_id,
        database_url=database_url,
        db_instance=db_instance,
        db_name=env.get("REALM_DB_NAME") or "realm",
        db_user=db_user,
        db_ip_type=_choice(env, "REALM_DB_IP_TYPE", ("PUBLIC", "PRIVATE", "PSC"), "PUBLIC"),
        db_pool_size=_int(env, "REALM_DB_POOL_SIZE", 5, 1, 100),
        state_dir=state_dir,
        local_key_file=local_key_file,
        max_json_bytes=_int(env, "REALM_MAX_JSON_BYTES", 64 * 1024, 1024, 1024 * 1024),
        max_upload_bytes=_int(env, "REALM_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, 1024, 64 << 20),
        max_image_pixels=_int(env, "REALM_MAX_IMAGE_PIXELS", 40_000_000, 1, 500_000_000),
        event_max_age_seconds=_int(
            env, "REALM_EVENT_MAX_AGE_SECONDS", 3 * 24 * 3600, 1, 30 * 86400
        ),
        media_bucket=media_bucket,
        local_media_dir=Path(env.get("REALM_LOCAL_MEDIA_DIR") or state_dir / "media").absolute(),
        public_base_url=(env.get("REALM_PUBLIC_BASE_URL") or "http://127.0.0.1:8080").rstrip("/"),
        storage_emulator_host=storage_emulator_host,
        signer_email=env.get("REALM_SIGNER_EMAIL") or None,
        quotas=_quotas(env),
        invite_link_base_url=_link_base(env),
        bounds=_bounds(env),
        fcm_endpoint=_fcm_endpoint(env, cloud),
        push_concurrency=_int(env, "REALM_PUSH_CONCURRENCY", 16, 1, 100),
        auth_emulator_host=_auth_emulator(env, realm_env, project_id),
    )


settings = load(os.environ)
