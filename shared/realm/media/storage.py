"""The media store: where photo objects live.

One small port, two adapters:

* :class:`CloudStorage` — Google Cloud Storage through ``google-cloud-storage``. In the cloud it
  authenticates as the function's own service account; locally and in tests the very same code
  talks to ``gcp-storage-emulator`` because the client library honours ``STORAGE_EMULATOR_HOST``.
* :class:`LocalDirectory` — plain files under ``REALM_LOCAL_MEDIA_DIR``, for local runs without
  the emulator.

:func:`store` picks one: Cloud Storage in the cloud and whenever the emulator is configured, the
local directory otherwise. Objects are private in both: the app only ever sees time-limited
URLs (``realm.photo_urls``), and locally the server serves only sanitized images.

The read path (``me``, ``list-parties``) never imports this module; ``google.cloud.storage`` is
imported only when a Cloud Storage adapter is first created.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from realm.config import Settings, settings
from realm.db import guard
from realm.errors import DependencyUnavailable
from realm.media import urls
from realm.process import Once

if TYPE_CHECKING:
    from google.cloud.storage import Bucket

T = TypeVar("T")

# The emulator's bucket when REALM_MEDIA_BUCKET is not set.
LOCAL_BUCKET = "realm-local-media"


class ObjectMissing(Exception):
    """No object under this key."""


class StoreUnavailable(DependencyUnavailable):
    """Cloud Storage refused, failed or did not answer within the storage bounds."""

    dependency = "cloud-storage"


def _unavailable(error: Exception) -> StoreUnavailable | None:
    """The ``StoreUnavailable`` that a client library error means, or None for a bug."""
    from google.api_core import exceptions as api
    from google.auth.exceptions import TransportError
    from requests.exceptions import RequestException

    # Not reached, or any answer but 404: 5xx and 429 are outages; a 401/403 is a misconfigured
    # deployment, which the app can do nothing about either: all are "retry later" to it, and
    # the log says which.
    if isinstance(error, RequestException | TransportError | api.RetryError | OSError) or (
        isinstance(error, api.GoogleAPICallError) and not isinstance(error, api.NotFound)
    ):
        return StoreUnavailable.caused_by(error)
    return None


class MediaStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def content_type(self, key: str) -> str: ...

    def delete(self, key: str) -> None:
        """Removes the object; a missing object is not an error."""

    def keys(self, prefix: str) -> list[str]: ...

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under ``prefix`` (a folder: ending in ``/``) and every kept
        version of each; returns how many objects or versions it deleted."""


def _check_prefix(prefix: str) -> str:
    # Only ever a whole folder (photos/{user_id}/): never "", never a partial name.
    if not prefix.endswith("/"):
        raise ValueError(f"not a folder of keys: {prefix!r}")
    _check_key(prefix[:-1])
    return prefix


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not an object key: {key!r}")
    return key


class CloudStorage:
    """A bucket in Cloud Storage (or the storage emulator).

    Every call is bounded: each attempt by ``REALM_STORAGE_TIMEOUT_SECONDS`` (connect and
    read), retries of transient errors by ``REALM_STORAGE_RETRY_SECONDS`` in all (the client's
    own default retries for two minutes: that was the 200 s upload of issue 12). Uploads are
    retried too: a key is written once, with the same bytes, so a retry cannot do harm.
    Failures are ``StoreUnavailable`` (→ 503).
    """

    def __init__(self, bucket: str, project: str | None = None) -> None:
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY

        self.bucket_name = bucket
        self._bucket: Bucket = storage.Client(project=project).bucket(bucket)
        bounds = settings.bounds
        self._timeout = (bounds.storage_seconds, bounds.storage_seconds)
        self._retry = (
            DEFAULT_RETRY.with_timeout(bounds.storage_retry_seconds)
            if bounds.storage_retry_seconds > 0
            else None
        )

    def _call(self, what: str, call: Callable[[], T]) -> T:
        guard.outside_call(f"storage.{what}")
        try:
            return call()
        except Exception as error:
            down = _unavailable(error)
            if down is not None:
                raise down from error
            raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        blob = self._bucket.blob(_check_key(key))
        # Objects never change once written (keys carry the photo id): caches may keep them.
        blob.cache_control = "private, max-age=31536000, immutable"
        self._call(
            "put",
            lambda: blob.upload_from_string(
                data, content_type=content_type, timeout=self._timeout, retry=self._retry
            ),
        )

    def get(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        blob = self._bucket.blob(_check_key(key))
        try:
            data: bytes = self._call(
                "get", lambda: blob.download_as_bytes(timeout=self._timeout, retry=self._retry)
            )
        except NotFound:
            raise ObjectMissing(key) from None
        return data

    def content_type(self, key: str) -> str:
        blob = self._call(
            "content_type",
            lambda: self._bucket.get_blob(
                _check_key(key), timeout=self._timeout, retry=self._retry
            ),
        )
        if blob is None:
            raise ObjectMissing(key)
        return str(blob.content_type or "application/octet-stream")

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        blob = self._bucket.blob(_check_key(key))
        with suppress(NotFound):
            self._call("delete", lambda: blob.delete(timeout=self._timeout, retry=self._retry))

    def keys(self, prefix: str) -> list[str]:
        return self._call(
            "keys",
            lambda: sorted(
                blob.name
                for blob in self._bucket.list_blobs(
                    prefix=prefix, timeout=self._timeout, retry=self._retry
                )
            ),
        )

    def delete_prefix(self, prefix: str) -> int:
        """Every generation, the noncurrent ones included: the bucket is versioned and keeps
        a replaced or deleted object 30 days (terraform/storage.tf), which for a deleted
        account's photos is 30 days too many. Deleting a listed blob deletes its generation."""
        from google.api_core.exceptions import NotFound

        versions = self._call(
            "list",
            lambda: list(
                self._bucket.list_blobs(
                    prefix=_check_prefix(prefix),
                    versions=True,
                    timeout=self._timeout,
                    retry=self._retry,
                )
            ),
        )
        for blob in versions:
            with suppress(NotFound):  # gone meanwhile (a concurrent delivery)
                self._call(
                    "delete",
                    functools.partial(blob.delete, timeout=self._timeout, retry=self._retry),
                )
        return len(versions)


class LocalDirectory:
    """Objects as files: ``<root>/<key>``, with its content type in ``<key>.content-type``."""

    _TYPE_SUFFIX = ".content-type"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # The stand-in for Cloud Storage keeps its rule: no connection held across it.
        guard.outside_call("storage")
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half an object, and concurrent writers of the
        # same key leave one whole object.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_bytes(data)
        temporary.replace(path)
        Path(str(path) + self._TYPE_SUFFIX).write_text(content_type)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def content_type(self, key: str) -> str:
        try:
            return Path(str(self._path(key)) + self._TYPE_SUFFIX).read_text()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        Path(str(path) + self._TYPE_SUFFIX).unlink(missing_ok=True)

    def keys(self, prefix: str) -> list[str]:
        guard.outside_call("storage.keys")
        if not self.root.is_dir():
            return []
        found = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file()
            and not path.name.endswith(self._TYPE_SUFFIX)
            and not path.name.startswith(".")
        )
        return sorted(key for key in found if key.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        doomed = self.keys(_check_prefix(prefix))
        for key in doomed:
            self.delete(key)
        return len(doomed)


def uses_cloud_storage(config: Settings = settings) -> bool:
    return config.env == "cloud" or config.storage_emulator_host is not None


def make_store(config: Settings = settings) -> MediaStore:
    if uses_cloud_storage(config):
        return CloudStorage(config.media_bucket or LOCAL_BUCKET, project=config.project_id)
    return LocalDirectory(config.local_media_dir)


_store: Once[MediaStore] = Once(make_store)


def store() -> MediaStore:
    """The process-wide store (its client and connections are reused across requests)."""
    return _store.get()


# --- object keys (DESIGN §6: photos/{user_id}/{photo_id}/…) ---------------------------------


def user_prefix(user_id: int) -> str:
    """Every photo of a user: what deleting their account erases."""
    return f"photos/{user_id}/"


def photo_prefix(user_id: int, photo_id: object) -> str:
    return f"{user_prefix(user_id)}{photo_id}/"


def original_key(user_id: int, photo_id: object) -> str:
    return photo_prefix(user_id, photo_id) + "original"


def output_key(user_id: int, photo_id: object, name: str) -> str:
    """A sanitized image: ``display``, ``512`` or ``128``."""
    return photo_prefix(user_id, photo_id) + f"{name}.webp"


SERVABLE_NAMES = frozenset(f"{name}.webp" for name in urls.SIZES)


def is_servable(key: str) -> bool:
    """Only sanitized images are ever served; an original may carry a GPS location."""
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == "photos" and parts[3] in SERVABLE_NAMES
