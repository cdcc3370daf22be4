"""The test run's own stack: a throw-away PostgreSQL on a private port and data directory,
started before any test module imports the shared layer (which reads the environment once)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from realm.devstack.stack import Stack

if TYPE_CHECKING:
    from realm.media.storage import MediaStore

_stack = Stack()
_state = Path(tempfile.mkdtemp(prefix="realm-test-state-"))


def _start() -> None:
    state = _state
    os.environ.update(
        REALM_ENV="test",
        REALM_PROJECT_ID="realm-test",
        REALM_STATE_DIR=str(state),
        REALM_LOCAL_KEY_FILE=str(state / "local-signing-key.pem"),
    )
    for given in (
        "DATABASE_URL",
        "STORAGE_EMULATOR_HOST",
        "REALM_MEDIA_BUCKET",
        "PUBSUB_EMULATOR_HOST",
        "FIRESTORE_EMULATOR_HOST",
    ):
        os.environ.pop(given, None)
    _stack.postgres(durable=False)
    _stack.storage(durable=False)

    from realm import db
    from realm.db import migrate

    migrate.migrate(db.pool())


# At import, not in pytest_configure: pytest imports the conftest files of the given paths
# before configure hooks run, and those import the shared layer, which reads the environment
# once. This file is imported first of all.
_start()


def pytest_unconfigure(config: pytest.Config) -> None:
    from realm import db

    db.pool().close()
    _stack.stop()
    shutil.rmtree(_state, ignore_errors=True)


@pytest.fixture
def tx() -> Iterator[object]:
    """A transaction on a clean database, rolled back at the end."""
    from realm import db

    _truncate()
    with db.pool().connection() as conn:
        conn.execute_simple("BEGIN")
        yield db.Tx(conn)
        conn.execute_simple("ROLLBACK")


def _truncate() -> None:
    from realm import db

    with db.transaction() as tx:
        tx.execute(
            "TRUNCATE users, parties, invites, photos, outbox, processed_events, devices,"
            " push_deliveries, quota_subjects, quota_spends, idempotency_keys, account_erasures"
            " RESTART IDENTITY CASCADE"
        )


@pytest.fixture
def clean_db() -> None:
    _truncate()


@pytest.fixture(scope="session")
def storage_emulator() -> str:
    """The gcp-storage-emulator of the test run (STORAGE_EMULATOR_HOST), with its bucket.

    It is started with the database, at import: the shared layer reads the environment once.
    """
    from realm.config import settings
    from realm.media import storage

    if settings.storage_emulator_host is None:
        pytest.fail("gcp-storage-emulator is not installed: pip install -e '.[dev]'")
    assert storage.uses_cloud_storage()
    return settings.storage_emulator_host


@pytest.fixture
def bucket(storage_emulator: str) -> MediaStore:
    """The media store (the emulator's bucket), emptied before the test."""
    from realm.media import storage

    store = storage.store()
    for key in store.keys(""):
        store.delete(key)
    return store


# -- the gcloud Pub/Sub and Firestore emulators -----------------------------------------------
# Started on first use by a test that needs them, for the rest of the run, on free loopback
# ports; their variables are then set in os.environ, so the shared layer's Pub/Sub and
# Firestore adapters (and servers started afterwards) use them. Where they are not installed,
# the tests that need them are skipped, loudly, and the run's summary says why.

_emulator_skips: dict[str, str] = {}


def _emulator(name: str, start: Any) -> Iterator[Any]:
    from realm.devstack import emulators

    reason = emulators.unavailable()
    if reason is not None:
        message = f"GCLOUD EMULATORS MISSING, {name} TESTS SKIPPED: {reason}"
        _emulator_skips[name] = message
        pytest.skip(message)
    emulator = start(Path(os.environ["REALM_STATE_DIR"]) / "emulators")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[Any]:
    """The official Pub/Sub emulator with the event topics; PUBSUB_EMULATOR_HOST points at it."""
    from realm.config import settings
    from realm.devstack import emulators

    def start(log_dir: Path) -> Any:
        emulator = emulators.pubsub(log_dir).start()
        emulators.wire_pubsub(emulator.host, settings.project_id, None)
        os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
        return emulator

    yield from _emulator("Pub/Sub", start)
    os.environ.pop("PUBSUB_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[Any]:
    """The official Firestore emulator, with the repository's rules; FIRESTORE_EMULATOR_HOST
    points at it."""
    from realm.config import settings
    from realm.devstack import emulators
    from realm.devstack.server import REPO_ROOT

    def start(log_dir: Path) -> Any:
        emulator = emulators.firestore(
            log_dir, settings.project_id, rules=REPO_ROOT / "firestore.rules"
        ).start()
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        return emulator

    yield from _emulator("Firestore", start)
    os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def auth_emulator() -> Iterator[Any]:
    """The Firebase Auth emulator (firebase-tools from package-lock.json, `make node-tools`)
    for a demo- project, on free loopback ports. Skipped, loudly, where Node or the package is
    missing."""
    from realm.devstack import auth_emulator as firebase_auth

    reason = firebase_auth.unavailable()
    if reason is not None:
        message = f"FIREBASE AUTH EMULATOR MISSING, ITS TESTS SKIPPED: {reason}"
        _emulator_skips["Auth"] = message
        pytest.skip(message)
    log_dir = Path(os.environ["REALM_STATE_DIR"]) / "emulators"
    # Node starts it in a few seconds on an idle machine; the bound is for a loaded one.
    from tests.helpers import AUTH_EMULATOR_PROJECT

    emulator = firebase_auth.emulator(log_dir, AUTH_EMULATOR_PROJECT).start(timeout=180)
    try:
        firebase_auth.wait_ready(emulator.host, timeout=120)
        yield emulator
    finally:
        emulator.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _emulator_skips:
        terminalreporter.section("emulators", sep="!", red=True, bold=True)
        for message in _emulator_skips.values():
            terminalreporter.write_line(message, red=True, bold=True)
        terminalreporter.write_line(
            "Install them (gcloud components install pubsub-emulator cloud-firestore-emulator,"
            " or apt-get install google-cloud-cli-pubsub-emulator"
            " google-cloud-cli-firestore-emulator) and Java 17 to run these tests."
        )
