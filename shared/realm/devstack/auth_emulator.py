"""The Firebase Auth emulator as the local identity provider (``realm serve --auth-emulator``).

The mobile app's developers point the Firebase SDK at it (``connectAuthEmulator``) and sign in
exactly as in production; the functions accept its tokens (unsigned, ``alg: none``) through
``realm.edge.auth.EmulatorVerifier``, which the configuration allows only in a local run of a
``demo-`` project.

It is firebase-tools, pinned in the repository's ``package.json``/``package-lock.json`` and
installed by ``make node-tools`` (``npm ci``) into ``node_modules``. It runs offline: a ``demo-``
project needs no Google account, and the Auth emulator is JavaScript inside firebase-tools (no
download on first start, unlike the Java emulators). It takes several seconds and Node, so it is
opt-in and not part of plain ``make run``.

Here: start and stop it by PID on 127.0.0.1, seed the seed users (``realm.devstack.seed``) into it
under their fixed uids, and sign in as any user for ``realm token``. The seed users' password is
made on this machine the first time and kept in the state directory; nothing is committed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from realm.devstack.emulators import Emulator
from realm.devstack.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PROJECT = "demo-realm"
DEFAULT_PORT = 9099  # the SDKs' documented default: the app's connectAuthEmulator uses it
_OWNER = {"Authorization": "Bearer owner"}  # the emulator's admin credential, by its docs
_CUSTOM_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)


def firebase_cli(root: Path = REPO_ROOT) -> Path:
    return root / "node_modules" / "firebase-tools" / "lib" / "bin" / "firebase.js"


def node() -> str | None:
    return shutil.which("node")


def unavailable(root: Path = REPO_ROOT) -> str | None:
    """Why the emulator cannot run here, or None when it can."""
    if node() is None:
        return "Node.js is not installed (apt-get install nodejs npm)"
    if not firebase_cli(root).is_file():
        return "firebase-tools is not installed: run `make node-tools` (npm ci)"
    return None


def write_config(path: Path, port: int, hub_port: int, logging_port: int) -> Path:
    """A firebase.json like the repository's, with the ports of this run."""
    committed = json.loads((REPO_ROOT / "firebase.json").read_text())
    emulators = committed.setdefault("emulators", {})
    emulators["auth"] = {"host": "127.0.0.1", "port": port}
    emulators["hub"] = {"host": "127.0.0.1", "port": hub_port}
    emulators["logging"] = {"host": "127.0.0.1", "port": logging_port}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(committed, indent=2) + "\n")
    return path


def emulator(log_dir: Path, project: str, port: int = 0) -> Emulator:
    """The Auth emulator on 127.0.0.1:``port`` (0: a free one); its hub and logging ports are
    free ones too, so that it never clashes with another run."""
    why = unavailable()
    node_bin = node()
    if why is not None or node_bin is None:
        raise RuntimeError(f"Firebase Auth emulator: {why}")
    if not project.startswith("demo-"):
        raise RuntimeError(f"the Auth emulator runs only for a demo- project, not {project!r}")
    port = port or free_port()
    config = write_config(log_dir / "firebase.json", port, free_port(), free_port())
    command = [
        node_bin,
        str(firebase_cli()),
        "--config",
        str(config),
        "emulators:start",
        "--only",
        "auth",
        "--project",
        project,
    ]
    return Emulator("Firebase Auth emulator", command, port, log_dir / "auth-emulator.log")


def _call(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def wait_ready(host: str, timeout: float = 60) -> None:
    """Until the emulator says it is ready (it listens a moment before)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=5) as response:
                if json.loads(response.read()).get("authEmulator", {}).get("ready"):
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Auth emulator on {host} was not ready in {timeout:.0f}s")
        time.sleep(0.2)


def password(state_dir: Path) -> str:
    """The seed users' password: made here the first time, readable by its owner only."""
    path = state_dir / "auth-emulator-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(12) + "\n")
    return path.read_text().strip()


def seed(host: str, project: str, users: Iterable[tuple[str, str, str]], secret: str) -> int:
    """Creates each (auth uid, display name, email) as an email/password user under that uid,
    or brings an existing one back to it. Returns how many were seeded."""
    accounts = f"http://{host}/identitytoolkit.googleapis.com/v1/projects/{project}/accounts"
    count = 0
    for auth_uid, name, email in users:
        user = {"localId": auth_uid, "email": email, "displayName": name, "password": secret}
        try:
            _call(accounts, user, _OWNER)
        except urllib.error.HTTPError as error:
            if b"DUPLICATE_LOCAL_ID" not in error.read():
                raise
            _call(f"{accounts}:update", user, _OWNER)
        count += 1
    return count


def lookup(host: str, project: str, uid: str) -> dict[str, Any] | None:
    """The emulator's account of ``uid`` (as the admin API shows it), or None."""
    accounts = f"http://{host}/identitytoolkit.googleapis.com/v1/projects/{project}/accounts"
    found = _call(f"{accounts}:lookup", {"localId": [uid]}, _OWNER).get("users") or []
    return dict(found[0]) if found else None


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def id_token(host: str, uid: str) -> str:
    """An ID token of the emulator for ``uid`` (a new user if it has none), signed in with an
    unsigned custom token, which the emulator accepts: the token the app would hold."""
    now = int(time.time())
    custom = _unsigned(
        {
            "iss": "realm-local@demo.invalid",
            "sub": "realm-local@demo.invalid",
            "aud": _CUSTOM_AUDIENCE,
            "uid": uid,
            "iat": now,
            "exp": now + 3600,
        }
    )
    reply = _call(
        f"http://{host}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=local",
        {"token": custom, "returnSecureToken": True},
    )
    return str(reply["idToken"])
