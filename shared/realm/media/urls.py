"""URLs of sanitized photos, for API responses. Part of the read path (``me``, ``list-parties``):
this module imports nothing beyond the standard library and orjson at import time, and never
``google.cloud.storage`` or PIL.

In the cloud a URL is a Cloud Storage V4 signed URL. The function has no key file: the string
to sign is signed by its own service account through the IAM Credentials API (``signBlob``;
the account needs ``roles/iam.serviceAccountTokenCreator`` on itself). Because that is a network
call, signed URLs are cached: each is signed for a fixed time window (``X-Goog-Date`` is the
start of the window) and reused by every request in that window, so a photo costs one
``signBlob`` per window per instance, and the app sees the same URL for hours, which lets its
image cache work. A URL handed out is valid for at least ``LIFETIME - WINDOW`` more seconds.

Locally a URL points at the local server (``/media/<key>``), which serves sanitized images only.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from realm import outages
from realm.config import Settings, settings
from realm.db import guard
from realm.errors import DependencyUnavailable
from realm.process import Once

SIZES = ("display", "512", "128")
ENDPOINT = "https://storage.googleapis.com"
WINDOW_SECONDS = 6 * 3600
LIFETIME_SECONDS = 12 * 3600  # at most 7 days for V4
_CACHE_ENTRIES = 20_000
_PARALLEL_SIGNING = 8

SignBytes = Callable[[bytes], bytes]


class SigningUnavailable(DependencyUnavailable):
    """IAM could not sign (down, or the account lacks roles/iam.serviceAccountTokenCreator).

    Responses are still given without the URLs (``urls_for``); it is a 503 only where a URL
    is the whole answer."""

    dependency = "iam-signblob"


def _quote(value: str, safe: str = "~") -> str:
    return quote(value, safe=safe)


def v4_signed_url(
    *,
    bucket: str,
    key: str,
    email: str,
    sign: SignBytes,
    at: datetime,
    expires_in: int,
    endpoint: str = ENDPOINT,
) -> str:
    """A V4 signed GET URL, as Cloud Storage documents it (and ``google-cloud-storage`` makes
    it): ``sign`` receives the string to sign and returns its RSA-SHA256 signature."""
    timestamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{timestamp[:8]}/auto/storage/goog4_request"
    resource = f"/{bucket}/{_quote(key, safe='/~')}"
    query = {
        "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
        "X-Goog-Credential": f"{email}/{scope}",
        "X-Goog-Date": timestamp,
        "X-Goog-Expires": str(expires_in),
        "X-Goog-SignedHeaders": "host",
    }
    canonical_query = "&".join(sorted(f"{_quote(k)}={_quote(v)}" for k, v in query.items()))
    host = endpoint.split("://", 1)[-1]
    canonical_request = "\n".join(
        ["GET", resource, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode("ascii")).hexdigest(),
        ]
    )
    signature = sign(string_to_sign.encode("ascii")).hex()
    return f"{endpoint}{resource}?{canonical_query}&X-Goog-Signature={signature}"


class SignedUrls:
    """V4 signed URLs, signed once per key per time window and kept in a bounded cache."""

    def __init__(
        self,
        bucket: str,
        email: str,
        sign: SignBytes,
        *,
        window: int = WINDOW_SECONDS,
        lifetime: int = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert lifetime > window
        self.bucket, self.email, self._sign = bucket, email, sign
        self._window, self._lifetime, self._clock = window, lifetime, clock
        self._cache: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.signatures = 0  # how many times sign() was called: for tests and metrics

    def _window_start(self) -> int:
        now = int(self._clock())
        return now - now % self._window

    def _cached(self, key: str, start: int) -> str | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or hit[0] != start:
                return None
            self._cache.move_to_end(key)
            return hit[1]

    def _sign_and_keep(self, key: str, start: int) -> str:
        try:
            url = v4_signed_url(
                bucket=self.bucket,
                key=key,
                email=self.email,
                sign=self._sign,
                at=datetime.fromtimestamp(start, UTC),
                expires_in=self._lifetime,
            )
        except Exception as error:
            raise SigningUnavailable(f"could not sign a URL for {key}: {error!r}") from error
        with self._lock:
            self.signatures += 1
            self._cache[key] = (start, url)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return url

    def url(self, key: str) -> str:
        # Checked even when the URL is cached: whether a call is made must not decide whether
        # a held connection is noticed.
        guard.outside_call("iam.signBlob")
        start = self._window_start()
        return self._cached(key, start) or self._sign_and_keep(key, start)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Signs the keys not yet cached concurrently: a cold list page costs one round trip
        to IAM rather than one per photo."""
        # Here, in the request's thread: the worker threads below hold no connection whatever
        # the request holds.
        guard.outside_call("iam.signBlob")
        start = self._window_start()
        missing = sorted({key for key in keys if self._cached(key, start) is None})
        if len(missing) <= 1:
            for key in missing:
                self._sign_and_keep(key, start)
            return
        from concurrent.futures import ThreadPoolExecutor  # cloud only: not on every cold start

        with ThreadPoolExecutor(min(_PARALLEL_SIGNING, len(missing))) as pool:
            list(pool.map(lambda key: self._sign_and_keep(key, start), missing))


class LocalUrls:
    """URLs of the local server, which serves sanitized images from the local store."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url(self, key: str) -> str:
        guard.outside_call("urls")  # the stand-in for signing keeps its rule
        return f"{self.base_url}/media/{_quote(key, safe='/~')}"

    def prefetch(self, keys: Iterable[str]) -> None:
        """Nothing to do: local URLs cost nothing."""
        guard.outside_call("urls")


def _iam_signer(config: Settings) -> tuple[str, SignBytes]:
    """The function's own service account and a signer through IAM ``signBlob`` (no key)."""
    import google.auth
    import google.auth.iam
    import google.auth.transport.urllib3
    import urllib3

    auth: Any = google.auth
    credentials, _ = auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    transport: Any = google.auth.transport.urllib3
    # signBlob (and the metadata server's token) within REALM_SIGNING_TIMEOUT_SECONDS per
    # attempt, one retry: the library sends no timeout of its own, and urllib3's default is
    # to wait for ever.
    bound = config.bounds.signing_seconds
    request = transport.Request(
        urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=bound, read=bound),
            retries=urllib3.Retry(total=1, backoff_factor=0.2),
        )
    )
    email = config.signer_email or getattr(credentials, "service_account_email", None)
    if not email or email == "default":
        # Compute Engine credentials learn their account's email from the metadata server.
        credentials.refresh(request)
        email = credentials.service_account_email
    signer = auth.iam.Signer(request, credentials, email)
    return str(email), signer.sign


def _make_urls() -> SignedUrls | LocalUrls:
    if settings.env == "cloud":
        assert settings.media_bucket is not None
        try:
            email, sign = _iam_signer(settings)
        except Exception as error:
            raise SigningUnavailable(f"no signer: {error!r}") from error
        return SignedUrls(settings.media_bucket, email, sign)
    return LocalUrls(settings.public_base_url)


_urls: Once[SignedUrls | LocalUrls] = Once(_make_urls)


def urls() -> SignedUrls | LocalUrls:
    """The process's URL maker (and its cache of signed URLs)."""
    return _urls.get()


def urls_for(keys: Mapping[str, str] | None) -> dict[str, str] | None:
    """The response's ``urls`` for a ready photo's output keys, or None if it has none.

    If URLs cannot be signed, the answer carries the photo without URLs (and the error is
    logged) rather than failing: a profile or a party list is still worth showing.
    """
    if not keys:
        return None
    try:
        source = urls()
        return {name: source.url(keys[name]) for name in SIZES if name in keys}
    except SigningUnavailable as error:
        outages.report(error.dependency, error)  # once per burst, not per photo
        return None


def prefetch(key_maps: Iterable[Mapping[str, str] | None]) -> None:
    with suppress(SigningUnavailable):  # urls_for logs it, per photo
        urls().prefetch(key for keys in key_maps if keys for key in keys.values())


class Batch:
    """The photos of one response: the first URL asked for signs all of them concurrently."""

    def __init__(self, key_maps: Iterable[Mapping[str, str] | None]) -> None:
        self._key_maps: list[Mapping[str, str]] | None = [keys for keys in key_maps if keys]

    def urls_for(self, keys: Mapping[str, str] | None) -> dict[str, str] | None:
        if self._key_maps is not None:
            pending, self._key_maps = self._key_maps, None
            prefetch(pending)
        return urls_for(keys)


@dataclass(frozen=True)
class Rendered:
    """A response body rendered by PostgreSQL (``realm.db.render``) in which each ready photo's
    ``urls`` still holds its object keys (``realm.people.users.photo_json``).

    :meth:`text` swaps the keys for URLs, signing those not cached yet together (as ``Batch``
    does): call it once the database connection is back in the pool. A body without a ready
    photo (``photos`` false) is passed on as it is, unparsed.
    """

    raw: str
    photos: bool

    def text(self) -> str:
        if not self.photos:
            return self.raw
        body = orjson.loads(self.raw)
        ready = list(_ready_photos(body))
        prefetch(photo["urls"] for photo in ready)
        for photo in ready:
            photo["urls"] = urls_for(photo["urls"])
        return orjson.dumps(body).decode()


def _ready_photos(value: Any) -> Iterable[dict[str, Any]]:
    """The photos (values of a ``photo`` key) in a parsed body whose ``urls`` are object keys."""
    if isinstance(value, list):
        for item in value:
            yield from _ready_photos(item)
    elif isinstance(value, dict):
        photo = value.get("photo")
        if isinstance(photo, dict) and isinstance(photo.get("urls"), dict):
            yield photo
        for item in value.values():
            if isinstance(item, dict | list):
                yield from _ready_photos(item)
