"""Google's certificates are fetched once and kept for as long as Cache-Control allows: served
here by a loopback HTTP server that counts how often it is asked."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from realm.config import load
from realm.devstack.tokens import new_private_key
from realm.edge.auth import GoogleKeys, InvalidToken, KeysUnavailable, Verifier

SETTINGS = load({"REALM_PROJECT_ID": "realm-test"})
KEY = new_private_key()


def _certificate() -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class CertServer:
    def __init__(self, max_age: int) -> None:
        self.hits = 0
        self.max_age = max_age
        body = json.dumps({"kid-1": _certificate()}).encode()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header(
                    "Cache-Control", f"public, max-age={outer.max_age}, must-revalidate"
                )
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/certs"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def certs() -> Iterator[CertServer]:
    server = CertServer(max_age=3600)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _token(kid: str = "kid-1") -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": SETTINGS.issuer, "aud": "realm-test", "sub": "u1", "iat": now, "exp": now + 600},
        KEY,
        algorithm="RS256",
        headers={"kid": kid},
    )


def test_certificates_are_fetched_once_for_many_verifications(certs: CertServer) -> None:
    verifier = Verifier(SETTINGS, GoogleKeys(certs.url))
    for _ in range(50):
        assert verifier.verify(_token()).uid == "u1"
    assert certs.hits == 1


class Clock:
    """Stands in for time.monotonic in realm.edge.auth, so the cache can be aged without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("realm.edge.auth.time.monotonic", fake)
    return fake


def test_certificates_are_fetched_again_once_their_max_age_has_passed(
    certs: CertServer, clock: Clock
) -> None:
    certs.max_age = 120
    keys = GoogleKeys(certs.url)
    assert keys.key("kid-1") is not None
    clock.now += 119
    assert keys.key("kid-1") is not None
    assert certs.hits == 1
    clock.now += 2
    assert keys.key("kid-1") is not None
    assert certs.hits == 2


def test_without_a_max_age_the_certificates_are_still_kept_a_while(certs: CertServer) -> None:
    certs.max_age = 0
    verifier = Verifier(SETTINGS, GoogleKeys(certs.url))
    for _ in range(20):
        verifier.verify(_token())
    assert certs.hits == 1


def test_while_google_is_unreachable_the_previous_keys_serve_and_one_caller_retries(
    certs: CertServer, clock: Clock
) -> None:
    keys = GoogleKeys(certs.url, timeout=1)
    Verifier(SETTINGS, keys).verify(_token())
    certs.httpd.shutdown()
    certs.httpd.server_close()
    clock.now += 3600 + 1  # the keys' max-age has passed
    for _ in range(10):
        assert Verifier(SETTINGS, keys).verify(_token()).uid == "u1"
    assert keys._retry_at > clock.now  # one failed attempt, the next one later
    clock.now += 2 * 3600  # too stale to trust any longer
    with pytest.raises(KeysUnavailable):
        Verifier(SETTINGS, keys).verify(_token())


def test_a_stream_of_unknown_key_ids_does_not_become_a_stream_of_fetches(
    certs: CertServer,
) -> None:
    verifier = Verifier(SETTINGS, GoogleKeys(certs.url))
    verifier.verify(_token())
    for n in range(20):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(_token(kid=f"forged-{n}"))
    assert certs.hits == 1


def test_unreachable_certificates_are_reported_as_unavailable_not_as_a_bad_token() -> None:
    verifier = Verifier(SETTINGS, GoogleKeys("http://127.0.0.1:9/certs", timeout=1))
    with pytest.raises(KeysUnavailable):
        verifier.verify(_token())
