"""End-to-end tests talk HTTP to a real `realm serve` process, started once for the module."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm.devstack.ports import free_port, wait_for_port
from tests.helpers import Client

PARTIES_PER_HOUR = 12
EMULATOR_VARIABLES = ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST")


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    port = free_port()
    log = Path(os.environ["REALM_STATE_DIR"]) / "server.log"
    # This server delivers events in-process to the local feed, which its tests read, even when
    # a test that ran first left the session's emulators in the environment (events_api serves
    # with them, on a server of its own).
    env = {k: v for k, v in os.environ.items() if k not in EMULATOR_VARIABLES}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "realm.cli", "serve", "--no-seed", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            # A parties quota small enough for a test to reach (test_quotas).
            env=dict(env, REALM_QUOTAS=f"parties={PARTIES_PER_HOUR}/3600"),
        )
        try:
            wait_for_port(port, 60, "realm serve")
        except TimeoutError:
            process.kill()
            raise RuntimeError(f"realm serve did not start:\n{log.read_text()}") from None
        yield f"http://127.0.0.1:{port}"
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def api(server: str) -> Client:
    return Client(server)


@pytest.fixture
def server_log(server: str) -> Path:
    """Everything the local server wrote to stdout and stderr."""
    return Path(os.environ["REALM_STATE_DIR"]) / "server.log"
