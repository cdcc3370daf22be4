"""The Firebase Auth emulator's unsigned tokens: accepted only in a local run of a demo-
project with the emulator's address configured, and even then every claim but the signature
is checked. The configuration refuses the emulator anywhere else, at start-up."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from realm.config import ConfigError, load
from realm.devstack.tokens import new_private_key
from realm.edge.auth import EmulatorVerifier, InvalidToken, LocalKeys, Verifier

LOCAL = {
    "REALM_ENV": "local",
    "REALM_PROJECT_ID": "demo-realm",
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
}
SETTINGS = load(LOCAL)


def unsigned(header: Any = None, signature: Any = "", **claims: Any) -> str:
    """A token as the Auth emulator issues it: alg none, an empty signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    body = {
        "iss": "https://securetoken.google.com/demo-realm",
        "aud": "demo-realm",
        "sub": "host-1",
        "user_id": "host-1",
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "firebase": {"identities": {}, "sign_in_provider": "password"},
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return f"{part(header or {'alg': 'none', 'typ': 'JWT'})}.{part(body)}.{signature}"


verifier = EmulatorVerifier(SETTINGS)


def test_an_emulator_token_names_its_subject_as_the_caller() -> None:
    assert verifier.verify(unsigned()).uid == "host-1"


def test_the_configuration_names_the_emulator_it_trusts() -> None:
    assert SETTINGS.auth_emulator_host == "127.0.0.1:9099"


def test_an_expired_emulator_token_is_refused() -> None:
    past = int(time.time()) - 7200
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(unsigned(iat=past, exp=past + 3600))


def test_an_emulator_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidToken, match="future"):
        verifier.verify(unsigned(iat=int(time.time()) + 3600))


@pytest.mark.parametrize("missing", ["exp", "iat"])
def test_an_emulator_token_without_its_times_is_refused(missing: str) -> None:
    with pytest.raises(InvalidToken, match=missing):
        verifier.verify(unsigned(**{missing: None}))


def test_an_emulator_token_for_another_project_is_refused() -> None:
    with pytest.raises(InvalidToken, match="another project"):
        verifier.verify(unsigned(aud="demo-other"))


def test_an_emulator_token_from_another_issuer_is_refused() -> None:
    with pytest.raises(InvalidToken, match="someone else"):
        verifier.verify(unsigned(iss="https://securetoken.google.com/demo-other"))


@pytest.mark.parametrize("subject", ["", None, "x" * 129, 12])
def test_an_emulator_token_without_a_valid_subject_is_refused(subject: Any) -> None:
    with pytest.raises(InvalidToken, match="subject"):
        verifier.verify(unsigned(sub=subject))


def test_a_signed_token_is_refused_when_the_emulator_is_the_identity_provider() -> None:
    now = int(time.time())
    claims = {"iss": SETTINGS.issuer, "aud": "demo-realm", "sub": "host-1", "iat": now}
    signed = jwt.encode(
        {**claims, "exp": now + 3600}, new_private_key(), algorithm="RS256", headers={"kid": "k"}
    )
    with pytest.raises(InvalidToken, match="unsigned"):
        verifier.verify(signed)


def test_an_unsigned_header_with_a_signature_attached_is_refused() -> None:
    with pytest.raises(InvalidToken, match="unsigned"):
        verifier.verify(unsigned(signature="c2lnbmF0dXJl"))


def test_the_normal_verifier_refuses_an_unsigned_token() -> None:
    normal = Verifier(load({"REALM_PROJECT_ID": "demo-realm"}), LocalKeys(SETTINGS.state_dir))
    with pytest.raises(InvalidToken, match="RS256"):
        normal.verify(unsigned())


def test_the_normal_verifier_refuses_a_signed_header_with_the_signature_cut_off() -> None:
    class AnyKey(LocalKeys):
        def __init__(self) -> None:
            self._public = new_private_key().public_key()

        def key(self, kid: str) -> Any:
            return self._public

    normal = Verifier(load({"REALM_PROJECT_ID": "demo-realm"}), AnyKey())
    with pytest.raises(InvalidToken, match="signature"):
        normal.verify(unsigned(header={"alg": "RS256", "kid": "k"}))


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({**LOCAL, "REALM_ENV": "test"}, "refused when REALM_ENV=test"),
        ({**LOCAL, "REALM_PROJECT_ID": "realm-local"}, "needs a demo- project"),
        ({"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "needs a demo- project"),
        ({**LOCAL, "FIREBASE_AUTH_EMULATOR_HOST": "http://127.0.0.1:9099"}, "expected host:port"),
    ],
)
def test_the_emulator_is_refused_at_start_up_outside_a_local_demo_project(
    env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError, match=f"^FIREBASE_AUTH_EMULATOR_HOST: .*{says}"):
        load(env)


def test_the_emulator_is_refused_in_the_cloud_even_for_a_demo_project() -> None:
    cloud = {
        **LOCAL,
        "REALM_ENV": "cloud",
        "REALM_DB_INSTANCE": "demo-realm:europe-west1:realm",
        "REALM_DB_USER": "fn@demo-realm.iam",
        "REALM_MEDIA_BUCKET": "demo-realm-media",
    }
    with pytest.raises(ConfigError, match=r"^FIREBASE_AUTH_EMULATOR_HOST: .*REALM_ENV=cloud"):
        load(cloud)


def test_without_the_emulators_address_no_emulator_verifier_can_be_made() -> None:
    with pytest.raises(RuntimeError, match="local run"):
        EmulatorVerifier(load({"REALM_PROJECT_ID": "demo-realm"}))
