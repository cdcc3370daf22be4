"""The test run's own stack: a throw-away PostgreSQL on a private port and data directory,
started before any test module imports the shared layer (which reads the environment once)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm.devstack.stack import Stack

_stack = Stack()


def _start() -> None:
    state = Path(tempfile.mkdtemp(prefix="realm-test-state-"))
    os.environ.update(
        REALM_ENV="test",
        REALM_PROJECT_ID="realm-test",
        REALM_STATE_DIR=str(state),
        REALM_LOCAL_KEY_FILE=str(state / "local-signing-key.pem"),
    )
    os.environ.pop("DATABASE_URL", None)
    _stack.postgres(durable=False)

    from realm import db, schema

    schema.migrate(db.pool())


# At import, not in pytest_configure: pytest imports the conftest files of the given paths
# before configure hooks run, and those import the shared layer, which reads the environment
# once. This file is imported first of all.
_start()


def pytest_unconfigure(config: pytest.Config) -> None:
    from realm import db

    db.pool().close()
    _stack.stop()


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
            "TRUNCATE users, parties, invites, photos, outbox, processed_events"
            " RESTART IDENTITY CASCADE"
        )


@pytest.fixture
def clean_db() -> None:
    _truncate()
