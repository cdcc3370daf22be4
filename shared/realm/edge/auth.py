"""Verifying Firebase ID tokens.

In the cloud the signing keys are Google's published certificates for Firebase Auth, fetched
once and kept for as long as their Cache-Control allows. Locally and in tests a key generated on
this machine stands in for them (see ``realm.devstack.tokens``); with ``REALM_ENV=cloud`` that
key is refused at start-up by the configuration.

For the mobile app's developers, the Firebase Auth emulator can be the local identity provider
instead (``realm serve --auth-emulator``): its tokens are unsigned, and ``EmulatorVerifier``
accepts them, checking every claim but the signature, only in the configuration
``realm.config`` allows for it (a local run of a ``demo-`` project).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

from realm.config import Settings, settings
from realm.db import guard
from realm.edge.bodies import no_constant
from realm.errors import DependencyUnavailable
from realm.logs import log

GOOGLE_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
LOCAL_KEY_ID = "realm-local"
CLOCK_SKEW_SECONDS = 60
# A token with a key id we do not know makes us refetch, but not more often than this: a
# stream of forged key ids must not turn into a stream of requests to Google.
_MIN_REFETCH_SECONDS = 60.0
_MAX_AGE = re.compile(r"max-age=(\d+)")
_RETRY_AFTER_FAILURE_SECONDS = 5.0
_STALE_GRACE_SECONDS = 3600.0


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not meant for us."""


class KeysUnavailable(DependencyUnavailable):
    """The signing keys could not be fetched: we cannot tell good tokens from bad."""

    dependency = "google-signing-keys"


@dataclass(frozen=True)
class Caller:
    uid: str
    claims: dict[str, Any]


class GoogleKeys:
    """Google's Firebase token certificates, cached per their Cache-Control max-age."""

    def __init__(self, url: str = GOOGLE_CERTS_URL, timeout: float | None = None) -> None:
        self._url = url
        self._timeout = settings.bounds.google_keys_seconds if timeout is None else timeout
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires = 0.0
        self._fetched = 0.0
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        guard.outside_call("google-keys.fetch")
        try:
            with urllib.request.urlopen(self._url, timeout=self._timeout) as response:
                body = json.loads(response.read())
                cache_control = response.headers.get("Cache-Control", "")
        except (OSError, ValueError) as error:
            raise KeysUnavailable(f"could not fetch Firebase signing keys: {error}") from error
        # Only processes that verify Google's tokens pay for the X.509 parser.
        from cryptography.x509 import load_pem_x509_certificate

        keys = {}
        for kid, pem in body.items():
            key = load_pem_x509_certificate(pem.encode()).public_key()
            if isinstance(key, RSAPublicKey):
                keys[kid] = key
        match = _MAX_AGE.search(cache_control)
        now = time.monotonic()
        self._keys = keys
        self._fetched = now
        # Without a usable max-age, keep the keys for a minute rather than fetch per request.
        self._expires = now + max(int(match[1]) if match else 0, _MIN_REFETCH_SECONDS)

    def key(self, kid: str) -> RSAPublicKey | None:
        now = time.monotonic()
        if now < self._expires and kid in self._keys:
            return self._keys[kid]
        with self._lock:
            now = time.monotonic()
            due = now >= self._expires or (
                kid not in self._keys and now - self._fetched >= _MIN_REFETCH_SECONDS
            )
            if due and now >= self._retry_at:
                try:
                    self._fetch()
                except KeysUnavailable as error:
                    # One caller tries again every few seconds; meanwhile the others are
                    # served by the previous keys (still Google's) rather than queueing on a
                    # fetch each, as long as those are not too old.
                    self._retry_at = now + _RETRY_AFTER_FAILURE_SECONDS
                    if not self._usable_when_stale(now):
                        raise
                    log.warning(
                        "Firebase signing keys not refreshed, using the previous: %s", error
                    )
            elif due and not self._usable_when_stale(now):
                raise KeysUnavailable("Firebase signing keys unavailable; retrying shortly")
            return self._keys.get(kid)

    def _usable_when_stale(self, now: float) -> bool:
        return bool(self._keys) and now < self._expires + _STALE_GRACE_SECONDS


def public_key_file(key_file: Path) -> Path:
    """Where the public half of the local signing key ``key_file`` is kept."""
    return key_file.with_name(key_file.stem + ".pub.pem")


class LocalKeys:
    """The public half of the local signing key, read once.

    The verifier never reads the private key: loading it means validating an RSA key (tens of
    milliseconds of a cold start) and the functions have no business holding it.
    """

    def __init__(self, key_file: Path) -> None:
        self._public_file = public_key_file(key_file)
        self._key: RSAPublicKey | None = None

    def key(self, kid: str) -> RSAPublicKey | None:
        if kid != LOCAL_KEY_ID:
            return None
        if self._key is None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                public = load_pem_public_key(self._public_file.read_bytes())
            except FileNotFoundError:
                raise KeysUnavailable(
                    f"no local signing key at {self._public_file}: run `realm token <uid>` once"
                ) from None
            if not isinstance(public, RSAPublicKey):
                raise KeysUnavailable(f"{self._public_file} is not an RSA public key")
            self._key = public
        return self._key


class Verifier:
    """Verifies tokens, remembering the ones it has verified until they expire.

    An app sends the same token for up to an hour; checking its signature once is enough. The
    memory is bounded, keyed by the whole token (so a changed byte is a new token), and a
    remembered token is still refused the moment it expires.
    """

    def __init__(
        self, config: Settings, keys: GoogleKeys | LocalKeys | None, remember: int = 4096
    ) -> None:
        self._audience = config.project_id
        self._issuer = config.issuer
        self._keys = keys
        self._remember = remember
        self._verified: OrderedDict[str, Caller] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Caller:
        with self._lock:
            caller = self._verified.get(token)
            if caller is not None:
                self._verified.move_to_end(token)
        if caller is not None and caller.claims["exp"] + CLOCK_SKEW_SECONDS > time.time():
            return caller
        caller = self._verify(token)
        with self._lock:
            self._verified[token] = caller
            if len(self._verified) > self._remember:
                self._verified.popitem(last=False)
        return caller

    def _check_signature(self, header: dict[str, Any], signed: bytes, signature: bytes) -> None:
        if header.get("alg") != "RS256":
            raise InvalidToken("The token must be signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key.")
        key = self._keys.key(kid) if self._keys is not None else None
        if key is None:
            raise InvalidToken("The token was signed by an unknown key.")
        try:
            key.verify(signature, signed, PKCS1v15(), SHA256())
        except InvalidSignature:
            raise InvalidToken("The token's signature is invalid.") from None

    def _verify(self, token: str) -> Caller:
        header, claims, signed, signature = _parse(token)
        self._check_signature(header, signed, signature)
        now = time.time()
        for name in ("exp", "iat"):
            if not _finite_number(claims.get(name)):
                raise InvalidToken(f"The token's claims are invalid: no numeric '{name}'.")
        if claims["exp"] + CLOCK_SKEW_SECONDS <= now:
            raise InvalidToken("The token has expired.")
        if claims["iat"] - CLOCK_SKEW_SECONDS > now:
            raise InvalidToken("The token was issued in the future.")
        auth_time = claims.get("auth_time")
        if auth_time is not None and (
            not _finite_number(auth_time) or auth_time - CLOCK_SKEW_SECONDS > now
        ):
            raise InvalidToken("The token's sign-in time is invalid or in the future.")
        if claims.get("aud") != self._audience:
            raise InvalidToken("The token is for another project.")
        if claims.get("iss") != self._issuer:
            raise InvalidToken("The token was issued by someone else.")
        subject = claims.get("sub")
        if not _valid_subject(subject):
            raise InvalidToken("The token has no valid subject.")
        assert isinstance(subject, str)
        return Caller(subject, claims)


def _finite_number(value: Any) -> bool:
    """A JSON number that is a real instant: not a boolean, not NaN, not ±Infinity (JSON has
    none of those, but Python's parser accepts them: a token with ``exp: Infinity`` would
    never expire)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) < 1e12  # beyond year 33658: not a timestamp


def _valid_subject(subject: Any) -> bool:
    """Firebase uids are at most 128 bytes of UTF-8, never with NUL (PostgreSQL text cannot hold
    it) or a lone surrogate (which is not UTF-8 at all and cannot be stored or logged)."""
    if not isinstance(subject, str) or not subject or "\x00" in subject:
        return False
    try:
        return len(subject.encode("utf-8")) <= 128
    except UnicodeEncodeError:
        return False


_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


def _b64(segment: str) -> bytes:
    if not _SEGMENT.match(segment):
        raise InvalidToken("The token is not a JWT.")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json(data: bytes) -> Any:
    # Strict UTF-8 (a UnicodeDecodeError is a ValueError) and no NaN or Infinity.
    return json.loads(data.decode("utf-8"), parse_constant=no_constant)


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Splits a compact JWS into its header, claims, signed bytes and signature.

    Written out rather than taken from a JWT library: Firebase tokens are RS256 only, this is
    all of it, and it spares every function the library's import and per-token cost.
    """
    parts = token.split(".")
    # A Firebase header is under 200 characters; bounding it (and the whole token) bounds the
    # JSON parser's work before the signature is checked.
    if len(parts) != 3 or len(token) > 8192 or len(parts[0]) > 1024:
        raise InvalidToken("The token is not a JWT.")
    try:
        header, claims = _json(_b64(parts[0])), _json(_b64(parts[1]))
    except (ValueError, binascii.Error, RecursionError):  # deeply nested JSON is not a JWT
        raise InvalidToken("The token is not a JWT.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("The token is not a JWT.")
    # An empty signature is the Auth emulator's unsigned token (EmulatorVerifier); RS256
    # verification fails on it like on any other wrong signature.
    signature = _b64(parts[2]) if parts[2] else b""
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


class EmulatorVerifier(Verifier):
    """Accepts the Firebase Auth emulator's tokens, which are unsigned (``alg: none``).

    Only built when the configuration allows it (``REALM_ENV=local``, a ``demo-`` project and
    ``FIREBASE_AUTH_EMULATOR_HOST``; ``realm.config`` refuses the variable anywhere else). Only
    the signature is skipped: expiry, issue time, audience, issuer and subject are checked as
    for a real token, unlike firebase-admin's emulator mode, so that an app developer meets an
    expired token locally exactly when they would in production. A signed token is refused:
    in this mode the emulator is the only identity provider.
    """

    def __init__(self, config: Settings, remember: int = 4096) -> None:
        if config.auth_emulator_host is None or config.env != "local":
            raise RuntimeError("the Auth emulator's tokens are accepted only in a local run")
        if not config.project_id.startswith("demo-"):
            raise RuntimeError("the Auth emulator's tokens are accepted only for a demo- project")
        super().__init__(config, None, remember)  # the emulator signs nothing: no keys

    def _check_signature(self, header: dict[str, Any], signed: bytes, signature: bytes) -> None:
        if header.get("alg") != "none" or signature:
            raise InvalidToken("Only the Auth emulator's unsigned tokens are accepted here.")


def _default_verifier() -> Verifier:
    if settings.auth_emulator_host is not None:
        return EmulatorVerifier(settings)
    keys: GoogleKeys | LocalKeys
    keys = LocalKeys(settings.local_key_file) if settings.local_key_file else GoogleKeys()
    return Verifier(settings, keys)


verifier = _default_verifier()
