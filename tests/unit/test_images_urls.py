"""Photo URLs: V4 signing without a key file or google-cloud-storage, its cache, and a read path
that loads neither the Storage client nor PIL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from realm.media import urls as photo_urls

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "make-thumbnail@realm-test.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    """A throw-away key standing in for the service account's (generated, never stored)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signer(key: rsa.RSAPrivateKey) -> photo_urls.SignBytes:
    def sign(data: bytes) -> bytes:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    return sign


def test_our_v4_signed_url_is_exactly_the_one_google_cloud_storage_makes(
    key: rsa.RSAPrivateKey,
) -> None:
    from google.cloud.storage._signing import generate_signed_url_v4
    from google.oauth2 import service_account

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        {
            "type": "service_account",
            "client_email": EMAIL,
            "private_key": pem,
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    at = datetime(2025, 3, 4, 6, 0, 0, tzinfo=UTC)
    object_key = "photos/12/0b6e-1f/display.webp"

    ours = photo_urls.v4_signed_url(
        bucket="realm-media",
        key=object_key,
        email=EMAIL,
        sign=_signer(key),
        at=at,
        expires_in=43200,
    )
    theirs = generate_signed_url_v4(
        credentials,
        resource=f"/realm-media/{object_key}",
        expiration=timedelta(seconds=43200),
        api_access_endpoint="https://storage.googleapis.com",
        _request_timestamp="20250304T060000Z",
    )

    assert ours == theirs
    assert "X-Goog-Expires=43200" in ours
    assert "X-Goog-Date=20250304T060000Z" in ours


def test_a_url_is_signed_once_per_window_and_reused_within_it(key: rsa.RSAPrivateKey) -> None:
    now = [1_700_000_000.0]
    urls = photo_urls.SignedUrls(
        "realm-media", EMAIL, _signer(key), window=3600, lifetime=7200, clock=lambda: now[0]
    )

    first = urls.url("photos/1/a/128.webp")
    now[0] += 60
    again = urls.url("photos/1/a/128.webp")
    now[0] += 3600
    next_window = urls.url("photos/1/a/128.webp")

    assert first == again
    assert next_window != first
    assert urls.signatures == 2


def test_a_cached_url_stays_valid_for_at_least_lifetime_minus_window(
    key: rsa.RSAPrivateKey,
) -> None:
    now = [1_700_003_599.0]  # the last second of a window
    urls = photo_urls.SignedUrls(
        "realm-media", EMAIL, _signer(key), window=3600, lifetime=7200, clock=lambda: now[0]
    )

    url = urls.url("photos/1/a/128.webp")

    signed_at = datetime.strptime(url.split("X-Goog-Date=")[1][:16], "%Y%m%dT%H%M%SZ")
    expires = signed_at.replace(tzinfo=UTC).timestamp() + 7200
    assert expires - now[0] >= 7200 - 3600


def test_prefetch_signs_only_what_is_not_cached(key: rsa.RSAPrivateKey) -> None:
    urls = photo_urls.SignedUrls("realm-media", EMAIL, _signer(key))
    urls.url("photos/1/a/128.webp")

    urls.prefetch([f"photos/1/a/{n}.webp" for n in ("128", "512", "display")] * 2)

    assert urls.signatures == 3


def test_local_urls_point_at_the_local_server() -> None:
    urls = photo_urls.LocalUrls("http://127.0.0.1:8080/")

    assert (
        urls.url("photos/1/a b/128.webp") == "http://127.0.0.1:8080/media/photos/1/a%20b/128.webp"
    )


@pytest.mark.parametrize("function", ["me", "list_parties"])
def test_the_read_path_loads_neither_the_storage_client_nor_pil(function: str) -> None:
    main = str(ROOT / "functions" / function / "main.py")
    script = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("main", {main!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
heavy = ("google.cloud.storage", "PIL", "google.cloud.pubsub", "google.cloud.firestore")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
"""
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        check=True,
        timeout=60,
        env={**os.environ, "REALM_ENV": "test"},
    )

    assert json.loads(run.stdout) == []


def test_a_signing_failure_leaves_the_photo_without_urls_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(data: bytes) -> bytes:
        raise PermissionError("iam.serviceAccounts.signBlob denied")

    refusing = photo_urls.SignedUrls("realm-media", EMAIL, refuse)
    monkeypatch.setattr(photo_urls, "urls", lambda: refusing)

    photo_urls.prefetch([{"128": "photos/1/a/128.webp"}])
    assert photo_urls.urls_for({"128": "photos/1/a/128.webp"}) is None
