"""Token verification against keys generated here: the real verifier, a stand-in key source."""

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from realm.config import load
from realm.devstack.tokens import new_private_key
from realm.edge.auth import InvalidToken, LocalKeys, Verifier

SETTINGS = load({"REALM_PROJECT_ID": "realm-test"})
KEY = new_private_key()


class OneKey(LocalKeys):
    def __init__(self, kid: str, key: rsa.RSAPrivateKey) -> None:
        self._kid, self._public = kid, key.public_key()

    def key(self, kid: str) -> Any:
        return self._public if kid == self._kid else None


verifier = Verifier(SETTINGS, OneKey("k1", KEY))


def make(key: Any = KEY, kid: str = "k1", alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": SETTINGS.issuer,
        "aud": "realm-test",
        "sub": "guest-1",
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def test_a_valid_token_names_its_subject_as_the_caller() -> None:
    assert verifier.verify(make()).uid == "guest-1"


def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(make(key=new_private_key()))


def test_an_expired_token_is_refused() -> None:
    past = int(time.time()) - 7200
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(make(iat=past, exp=past + 3600))


def test_a_token_for_another_project_is_refused() -> None:
    with pytest.raises(InvalidToken, match="another project"):
        verifier.verify(make(aud="someone-else"))


def test_a_token_from_another_issuer_is_refused() -> None:
    with pytest.raises(InvalidToken, match="issued by someone else"):
        verifier.verify(make(iss="https://securetoken.google.com/someone-else"))


def test_a_token_issued_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidToken, match="future"):
        verifier.verify(make(iat=int(time.time()) + 3600))


def test_a_token_within_the_clock_skew_is_accepted() -> None:
    assert verifier.verify(make(iat=int(time.time()) + 30)).uid == "guest-1"


@pytest.mark.parametrize("subject", ["", None])
def test_a_token_without_a_subject_is_refused(subject: str | None) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(make(sub=subject))


def test_a_token_without_an_expiry_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(make(exp=None))


def test_a_symmetric_token_is_refused_whatever_its_secret() -> None:
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.verify(make(key="a-secret-made-up-for-this-test-only-0123456789", alg="HS256"))


def test_a_token_naming_an_unknown_key_is_refused() -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(make(kid="k2"))


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(garbage)


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    remembering = Verifier(SETTINGS, OneKey("k1", KEY))
    now = int(time.time())
    short_lived = make(iat=now - 3600, exp=now - 61 + 2)  # expires (with skew) in 2 seconds
    assert remembering.verify(short_lived).uid == "guest-1"
    assert remembering.verify(short_lived).uid == "guest-1"
    time.sleep(2.1)
    with pytest.raises(InvalidToken, match="expired"):
        remembering.verify(short_lived)


def test_remembering_tokens_is_bounded() -> None:
    remembering = Verifier(SETTINGS, OneKey("k1", KEY), remember=3)
    tokens = [make(sub=f"user-{n}") for n in range(5)]
    for token in tokens:
        remembering.verify(token)
    assert list(remembering._verified) == tokens[2:]


# -- claims that are not what they claim to be (issue 12) ----------------------------------------

NOT_INSTANTS = [float("nan"), float("inf"), float("-inf"), True, "1700000000", 1e300]


@pytest.mark.parametrize("value", NOT_INSTANTS, ids=repr)
@pytest.mark.parametrize("claim", ["exp", "iat", "auth_time"])
def test_a_time_claim_that_is_not_a_finite_number_is_refused(claim: str, value: Any) -> None:
    # exp = Infinity was accepted: a token that never expires.
    with pytest.raises(InvalidToken):
        verifier.verify(make(**{claim: value}))


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("guest\u0000one", id="a NUL"),
        pytest.param("guest-\ud800", id="a lone surrogate"),
        pytest.param("€" * 43, id="129 bytes in 43 characters"),
        pytest.param("x" * 129, id="129 characters"),
        pytest.param(12345, id="a number"),
    ],
)
def test_a_subject_that_cannot_be_a_firebase_uid_is_refused(subject: Any) -> None:
    with pytest.raises(InvalidToken, match="subject"):
        verifier.verify(make(sub=subject))


def test_a_subject_of_128_bytes_of_utf8_is_accepted() -> None:
    subject = "é" * 64
    assert verifier.verify(make(sub=subject)).uid == subject
