"""Applies the database migrations to Cloud SQL and grants the functions their privileges.

    python -m deploy.migrate              # realm migrate, then grants (what CD runs)
    python -m deploy.migrate --grants-only
    python -m deploy.migrate bootstrap    # once per new instance, as the built-in postgres user

How the migrations reach Cloud SQL: this runs on the deployer's machine or the CD runner with
the deployer's Google identity (Workload Identity Federation in CD, `gcloud auth
application-default login --impersonate-service-account=...` by hand). ``realm migrate`` runs
with ``REALM_ENV=cloud``, so the app's own data layer connects through the Cloud SQL Python
Connector: the connector asks the Cloud SQL Admin API for an ephemeral client certificate
(roles/cloudsql.client), opens an mTLS connection to the instance's public IP, which has no
authorized network and admits nothing else, and logs in as the deployer's IAM database user with
an OAuth token instead of a password (roles/cloudsql.instanceUser). Tables are created by, and
owned by, the deployer's database user.

Then the function users get exactly their privileges on the schema's tables and sequences:
SELECT for the read-only functions, SELECT/INSERT/UPDATE/DELETE for the others, nothing for
functions without a database user. The owner of the tables grants them, so no role with
CREATEROLE is ever needed. Everything is idempotent; CD runs it before ``terraform apply`` (the
new code finds its schema) and after it (users created by that apply get their grants).

Where it connects comes from ``terraform output -json`` (or the environment variables below,
which win): REALM_PROJECT_ID, REALM_DB_INSTANCE, REALM_DB_NAME, REALM_DB_USER (the deployer's
IAM database user), REALM_MEDIA_BUCKET, REALM_DB_GRANTS (JSON {"user": "read"|"write"}).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = ROOT / "terraform"
ACCESS = ("read", "write")


class MigrateError(Exception):
    pass


class Cursor(Protocol):
    def execute(self, operation: str, args: Any = ...) -> Any: ...

    def fetchall(self) -> Any: ...


@dataclass(frozen=True)
class Target:
    project_id: str
    instance: str  # project:region:instance
    database: str
    deployer_user: str
    media_bucket: str
    grants: dict[str, str]  # IAM database user -> read | write


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted (IAM user names contain '@' and '.')."""
    if "\x00" in name:
        raise MigrateError("identifier with a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def grant_statements(user: str, access: str, schema: str = "public") -> list[str]:
    """Statements that leave ``user`` with exactly ``access`` on every table of ``schema``."""
    if access not in ACCESS:
        raise MigrateError(f"{user}: access must be one of {ACCESS}, got {access!r}")
    u, s = quote_ident(user), quote_ident(schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {u}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {u}",
    ]
    if access == "write":
        statements += [
            f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {u}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {u}",
        ]
    else:
        statements += [
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {s} FROM {u}",
            f"REVOKE USAGE ON ALL SEQUENCES IN SCHEMA {s} FROM {u}",
        ]
    return statements


def bootstrap_statements(deployer_user: str, database: str, schema: str = "public") -> list[str]:
    """Run once as ``postgres``: lets the deployer create and own the app's schema objects."""
    d = quote_ident(deployer_user)
    return [
        f"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {quote_ident(database)} TO {d}",
        f"GRANT USAGE, CREATE ON SCHEMA {quote_ident(schema)} TO {d}",
    ]


def _terraform_outputs(tf_dir: Path) -> dict[str, Any]:
    try:
        raw = subprocess.run(
            ["terraform", f"-chdir={tf_dir}", "output", "-json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise MigrateError(f"cannot read terraform outputs in {tf_dir}: {exc}") from exc
    outputs = json.loads(raw or "{}")
    return {name: value.get("value") for name, value in outputs.items()}


def resolve_target(env: Mapping[str, str], outputs: Mapping[str, Any]) -> Target | None:
    """The database to migrate, or None before the first ``terraform apply`` created it."""
    instance = env.get("REALM_DB_INSTANCE") or outputs.get("db_instance_connection_name")
    if not instance:
        return None
    project_id = env.get("REALM_PROJECT_ID") or str(instance).split(":")[0]
    grants_raw = env.get("REALM_DB_GRANTS")
    grants = json.loads(grants_raw) if grants_raw else dict(outputs.get("db_grants") or {})
    deployer = env.get("REALM_DB_USER") or outputs.get("db_deployer_user")
    if not deployer:
        raise MigrateError("REALM_DB_USER (the deployer's IAM database user) is unknown")
    return Target(
        project_id=project_id,
        instance=str(instance),
        database=env.get("REALM_DB_NAME") or str(outputs.get("db_name") or "realm"),
        deployer_user=str(deployer),
        media_bucket=env.get("REALM_MEDIA_BUCKET") or str(outputs.get("media_bucket") or ""),
        grants={str(k): str(v) for k, v in grants.items()},
    )


def run_realm_migrate(target: Target) -> None:
    env = {
        **os.environ,
        "REALM_ENV": "cloud",
        "REALM_PROJECT_ID": target.project_id,
        "REALM_DB_INSTANCE": target.instance,
        "REALM_DB_NAME": target.database,
        "REALM_DB_USER": target.deployer_user,
        "REALM_DB_POOL_SIZE": "1",
        "REALM_MEDIA_BUCKET": target.media_bucket,
    }
    env.pop("DATABASE_URL", None)  # never migrate some other database by accident
    realm = Path(sys.executable).with_name("realm")
    command = [str(realm)] if realm.exists() else [sys.executable, "-m", "realm.cli"]
    print(f"realm migrate on {target.instance}/{target.database} as {target.deployer_user}")
    subprocess.run([*command, "migrate"], check=True, env=env)


@contextmanager
def _connect(target: Target, user: str, password: str | None) -> Iterator[Cursor]:
    # Imported here: only this step needs the connector, and tests import this module offline.
    from google.cloud.sql.connector import Connector, IPTypes

    with Connector(refresh_strategy="lazy") as connector:
        conn = connector.connect(
            target.instance,
            "pg8000",
            user=user,
            db=target.database,
            password=password,
            enable_iam_auth=password is None,
            ip_type=IPTypes.PUBLIC,
        )
        try:
            conn.autocommit = True
            yield conn.cursor()
        finally:
            conn.close()


def apply_grants(cursor: Cursor, grants: Mapping[str, str], schema: str = "public") -> list[str]:
    """Grants to every user that exists; returns the users skipped (not created yet)."""
    cursor.execute("SELECT rolname FROM pg_roles")
    existing = {row[0] for row in cursor.fetchall()}
    skipped = []
    for user, access in sorted(grants.items()):
        if user not in existing:
            skipped.append(user)
            continue
        for statement in grant_statements(user, access, schema):
            cursor.execute(statement)
        print(f"granted {access} on schema {schema} to {user}")
    return skipped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Migrate the Cloud SQL database and grant access.")
    parser.add_argument("command", nargs="?", choices=("migrate", "bootstrap"), default="migrate")
    parser.add_argument("--grants-only", action="store_true", help="skip realm migrate")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
    args = parser.parse_args(argv)

    try:
        needs_outputs = not os.environ.get("REALM_DB_INSTANCE")
        outputs = _terraform_outputs(args.terraform_dir) if needs_outputs else {}
        target = resolve_target(os.environ, outputs)
        if target is None:
            print("no database yet (terraform has not been applied): nothing to migrate")
            return 0
        if args.command == "bootstrap":
            password = os.environ.get("REALM_BOOTSTRAP_PASSWORD") or getpass.getpass(
                "password of the built-in 'postgres' user: "
            )
            with _connect(target, "postgres", password) as cursor:
                for statement in bootstrap_statements(
                    target.deployer_user, target.database, args.schema
                ):
                    cursor.execute(statement)
            print(f"{target.deployer_user} may now create the schema; reset the postgres password.")
            return 0
        if not args.grants_only:
            run_realm_migrate(target)
        with _connect(target, target.deployer_user, None) as cursor:
            skipped = apply_grants(cursor, target.grants, args.schema)
        for user in skipped:
            print(f"not yet a database user, granted after the next apply: {user}")
    except (MigrateError, subprocess.CalledProcessError) as exc:
        print(f"migrate failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
