"""The Firebase Auth emulator as the local identity provider, for real: firebase-tools started
offline for a demo- project, the seed users seeded under their fixed uids, and the tokens it
issues accepted by the verifier configured for it, and refused by one for another project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from realm.config import load
from realm.devstack import auth_emulator as firebase_auth
from realm.devstack import seed
from realm.edge.auth import EmulatorVerifier, InvalidToken
from tests.helpers import AUTH_EMULATOR_PROJECT

SECRET = "made-for-this-test-" + os.urandom(6).hex()


def verifier_for(emulator: Any, project: str = AUTH_EMULATOR_PROJECT) -> EmulatorVerifier:
    return EmulatorVerifier(
        load(
            {
                "REALM_ENV": "local",
                "REALM_PROJECT_ID": project,
                "FIREBASE_AUTH_EMULATOR_HOST": emulator.host,
            }
        )
    )


def sign_in_with_password(emulator: Any, email: str, password: str) -> str:
    """What the app's Firebase SDK does when pointed at the emulator (connectAuthEmulator)."""
    request = urllib.request.Request(
        f"http://{emulator.host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword"
        "?key=any",
        data=json.dumps({"email": email, "password": password, "returnSecureToken": True}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return str(json.loads(reply.read())["idToken"])


@pytest.fixture(scope="module")
def seeded(auth_emulator: Any) -> Any:
    users = [(uid, name, f"{uid}@seed.realm.test") for _, name, uid in seed.HOSTS + seed.GUESTS]
    assert firebase_auth.seed(auth_emulator.host, AUTH_EMULATOR_PROJECT, users, SECRET) == 10
    # Seeding again (a restarted `realm serve` with a kept emulator) changes nothing.
    assert firebase_auth.seed(auth_emulator.host, AUTH_EMULATOR_PROJECT, users, SECRET) == 10
    return auth_emulator


def test_a_seed_user_signs_in_with_email_and_is_the_caller_under_their_fixed_uid(
    seeded: Any,
) -> None:
    token = sign_in_with_password(seeded, "host-1@seed.realm.test", SECRET)

    caller = verifier_for(seeded).verify(token)

    assert caller.uid == "host-1"
    assert caller.claims["firebase"]["sign_in_provider"] == "password"


def test_realm_token_hands_out_the_emulators_token_for_any_uid(seeded: Any) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "realm.cli", "token", "guest-3"],
        env={**os.environ, "FIREBASE_AUTH_EMULATOR_HOST": seeded.host},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()

    assert verifier_for(seeded).verify(printed).uid == "guest-3"


def test_an_emulator_token_is_refused_by_a_verifier_for_another_project(seeded: Any) -> None:
    token = firebase_auth.id_token(seeded.host, "guest-1")

    with pytest.raises(InvalidToken, match="another project"):
        verifier_for(seeded, project="demo-someone-else").verify(token)
