"""Verifying Firebase ID tokens.

In the cloud the signing keys are Google's published certificates for Firebase Auth, fetched
once and kept for as long as their Cache-Control allows. Locally and in tests a key generated on
this machine stands in for them (see ``realm.devstack.tokens``); with ``REALM_ENV=cloud`` that
key is refused at start-up by the configuration.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509 import load_pem_x509_certificate

from realm.config import Settings, settings

GOOGLE_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
LOCAL_KEY_ID = "realm-local"
CLOCK_SKEW_SECONDS = 60
# A token with a key id we do not know makes us refetch, but not more often than this: a
# stream of forged key ids must not turn into a stream of requests to Google.
_MIN_REFETCH_SECONDS = 60.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for us."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched: we cannot tell good tokens from bad."""


@dataclass(frozen=True)
class Caller:
    uid: str
    claims: dict[str, Any]


class GoogleKeys:
    """Google's Firebase token certificates, cached per their Cache-Control max-age."""

    def __init__(self, url: str = GOOGLE_CERTS_URL, timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires = 0.0
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        try:
            with urllib.request.urlopen(self._url, timeout=self._timeout) as response:
                body = json.loads(response.read())
                cache_control = response.headers.get("Cache-Control", "")
        except (OSError, ValueError) as error:
            raise KeysUnavailable(f"could not fetch Firebase signing keys: {error}") from error
        keys = {}
        for kid, pem in body.items():
            key = load_pem_x509_certificate(pem.encode()).public_key()
            if isinstance(key, RSAPublicKey):
                keys[kid] = key
        match = _MAX_AGE.search(cache_control)
        now = time.monotonic()
        self._keys = keys
        self._fetched = now
        self._expires = now + (int(match[1]) if match else 0)

    def key(self, kid: str) -> RSAPublicKey | None:
        now = time.monotonic()
        if now < self._expires and kid in self._keys:
            return self._keys[kid]
        with self._lock:
            stale = time.monotonic() >= self._expires
            unknown_and_due = (
                kid not in self._keys and time.monotonic() - self._fetched >= _MIN_REFETCH_SECONDS
            )
            if stale or unknown_and_due:
                self._fetch()
            return self._keys.get(kid)


class LocalKeys:
    """The public half of the local signing key, read once."""

    def __init__(self, key_file: Any) -> None:
        self._key_file = key_file
        self._key: RSAPublicKey | None = None

    def key(self, kid: str) -> RSAPublicKey | None:
        if kid != LOCAL_KEY_ID:
            return None
        if self._key is None:
            try:
                private = load_pem_private_key(self._key_file.read_bytes(), password=None)
            except FileNotFoundError:
                raise KeysUnavailable(
                    f"no local signing key at {self._key_file}: run `realm token <uid>` once"
                ) from None
            public = private.public_key()
            assert isinstance(public, RSAPublicKey)
            self._key = public
        return self._key


class Verifier:
    def __init__(self, config: Settings, keys: GoogleKeys | LocalKeys) -> None:
        self._audience = config.project_id
        self._issuer = config.issuer
        self._keys = keys

    def verify(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a JWT.") from None
        if header.get("alg") != "RS256":
            raise InvalidToken("The token must be signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key.")
        key = self._keys.key(kid)
        if key is None:
            raise InvalidToken("The token was signed by an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The token is for another project.") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token was issued by someone else.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The token was issued in the future.") from None
        except jwt.PyJWTError:
            raise InvalidToken("The token's signature or claims are invalid.") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 128:
            raise InvalidToken("The token has no valid subject.")
        auth_time = claims.get("auth_time")
        if auth_time is not None and (
            not isinstance(auth_time, int | float) or auth_time > time.time() + CLOCK_SKEW_SECONDS
        ):
            raise InvalidToken("The token's sign-in time is in the future.")
        return Caller(subject, claims)


def _default_verifier() -> Verifier:
    keys: GoogleKeys | LocalKeys
    keys = LocalKeys(settings.local_key_file) if settings.local_key_file else GoogleKeys()
    return Verifier(settings, keys)


verifier = _default_verifier()
