"""A private PostgreSQL server for local runs and tests, on a free loopback port.

PostgreSQL refuses to run as root, so when we are root every server command runs as the
``postgres`` system user, and the data directory is placed where that user can reach it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from realm.devstack.ports import free_port, wait_for_port

SERVER_USER = "postgres"
DATABASE = "realm"
ROLE = "realm"


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian puts them outside PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql)"
        " or set DATABASE_URL to a server of your own"
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(command: list[str]) -> list[str]:
    if not _is_root():
        return command
    return [
        "setpriv",
        f"--reuid={SERVER_USER}",
        f"--regid={SERVER_USER}",
        "--init-groups",
        "--reset-env",
        *command,
    ]


def _server_user_can_use(path: Path) -> bool:
    """Whether the postgres user can reach (search) every directory down to ``path``."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(_as_server_user(["test", "-x", str(probe)]), check=False)
    return result.returncode == 0


def default_root(state_dir: Path) -> Path:
    """Where ``make run`` keeps its server between runs: in the state directory when the server
    user can reach it, otherwise in a per-checkout folder under /var/tmp."""
    preferred = state_dir / "postgres"
    if not _is_root() or _server_user_can_use(state_dir):
        return preferred
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12]
    # A per-checkout folder that the postgres user owns.
    return Path("/var/tmp") / f"realm-postgres-{digest}"  # noqa: S108


@dataclass
class Postgres:
    """A server in ``root``: ``root/data`` (owned by the server user), ``root/password``."""

    root: Path
    durable: bool = True
    remove_on_stop: bool = False
    port: int = 0
    started: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        password = (self.root / "password").read_text().strip()
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            _as_server_user(list(command)), capture_output=True, text=True, check=False, cwd="/"
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def _chown_to_server_user(self, path: Path) -> None:
        if _is_root():
            shutil.chown(path, SERVER_USER, SERVER_USER)

    def _initdb(self, bin_dir: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user must traverse it
        self._chown_to_server_user(self.root)
        password = secrets.token_urlsafe(24)
        password_file = self.root / "password"
        password_file.write_text(password + "\n")
        with tempfile.NamedTemporaryFile("w", dir=self.root, delete=False) as pwfile:
            pwfile.write(password + "\n")
        self._chown_to_server_user(Path(pwfile.name))
        try:
            self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                ROLE,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile.name}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            os.unlink(pwfile.name)
        # The password stays readable only by whoever runs the stack.
        os.chmod(password_file, 0o600)
        if _is_root():
            shutil.chown(password_file, 0, 0)

    def start(self) -> None:
        bin_dir = find_bin_dir()
        if not (self.data_dir / "PG_VERSION").exists() or not (self.root / "password").exists():
            if self.data_dir.exists():
                shutil.rmtree(self.data_dir)
            self._initdb(bin_dir)
        elif (self.data_dir / "postmaster.pid").exists():
            # A server left running by a run that was killed: it is ours, stop it first.
            subprocess.run(
                _as_server_user(
                    [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
                ),
                capture_output=True,
                check=False,
                cwd="/",
            )
        self.port = self.port or free_port()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
        ]
        if not self.durable:
            # Throw-away test servers: durability buys nothing, speed does.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True
        wait_for_port(self.port, 30, "PostgreSQL")
        self._ensure_database()

    def _ensure_database(self) -> None:
        from pg8000.native import Connection

        password = (self.root / "password").read_text().strip()
        conn = Connection(
            ROLE, password=password, host="127.0.0.1", port=self.port, database="postgres"
        )
        try:
            if not conn.run("SELECT 1 FROM pg_database WHERE datname = :d", d=DATABASE):
                conn.run(f'CREATE DATABASE "{DATABASE}"')
        finally:
            conn.close()

    def stop(self) -> None:
        if not self.started:
            return
        self._run(
            str(find_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
        )
        self.started = False
        if self.remove_on_stop:
            shutil.rmtree(self.root.parent, ignore_errors=True)


def throwaway() -> Postgres:
    """A server in a new temporary directory, for one test run."""
    root = Path(tempfile.mkdtemp(prefix="realm-test-pg-"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user must traverse it
    return Postgres(root=root / "pg", durable=False, remove_on_stop=True)
