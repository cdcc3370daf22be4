"""The media store's two adapters honour one contract: the emulator-backed Cloud Storage adapter
(the cloud's code, unchanged) and the local directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import Client

from realm.devstack import media_files
from realm.media import storage


@pytest.fixture(params=["cloud-storage-emulator", "local-directory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> storage.MediaStore:
    if request.param == "local-directory":
        return storage.LocalDirectory(tmp_path / "media")
    emulated: storage.MediaStore = request.getfixturevalue("bucket")
    assert isinstance(emulated, storage.CloudStorage)
    return emulated


def test_an_object_reads_back_with_its_content_type(store: storage.MediaStore) -> None:
    store.put("photos/1/abc/original", b"\xff\xd8\xff bytes", "image/jpeg")

    assert store.get("photos/1/abc/original") == b"\xff\xd8\xff bytes"
    assert store.content_type("photos/1/abc/original") == "image/jpeg"


def test_writing_a_key_again_replaces_the_object(store: storage.MediaStore) -> None:
    store.put("photos/1/abc/128.webp", b"first", "image/webp")
    store.put("photos/1/abc/128.webp", b"second", "image/webp")

    assert store.get("photos/1/abc/128.webp") == b"second"
    assert store.keys("photos/1/abc/") == ["photos/1/abc/128.webp"]


def test_keys_lists_the_objects_under_a_prefix(store: storage.MediaStore) -> None:
    for key in ("photos/1/a/original", "photos/1/a/128.webp", "photos/2/b/original"):
        store.put(key, b"x", "application/octet-stream")

    assert store.keys("photos/1/") == ["photos/1/a/128.webp", "photos/1/a/original"]


def test_a_missing_object_is_reported_and_deleting_it_is_harmless(
    store: storage.MediaStore,
) -> None:
    with pytest.raises(storage.ObjectMissing):
        store.get("photos/9/none/original")
    store.delete("photos/9/none/original")

    store.put("photos/9/some/original", b"x", "image/png")
    store.delete("photos/9/some/original")
    assert store.keys("photos/9/") == []


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "photos//x", "photos/./x", ""])
def test_a_key_cannot_leave_the_store(store: storage.MediaStore, key: str) -> None:
    with pytest.raises(ValueError, match="not an object key"):
        store.put(key, b"x", "text/plain")


def test_only_sanitized_images_are_servable() -> None:
    assert storage.is_servable("photos/12/0b6e/display.webp")
    assert storage.is_servable("photos/12/0b6e/128.webp")
    assert not storage.is_servable("photos/12/0b6e/original")
    assert not storage.is_servable("photos/12/0b6e/../original")
    assert not storage.is_servable("secrets/12/0b6e/128.webp")


def test_the_local_server_serves_a_sanitized_image_but_never_an_original(
    bucket: storage.MediaStore,
) -> None:
    bucket.put("photos/1/p/128.webp", b"RIFF....WEBP", "image/webp")
    bucket.put("photos/1/p/original", b"\xff\xd8\xff with GPS", "image/jpeg")
    client = Client(media_files.app)

    served = client.get("/photos/1/p/128.webp")
    original = client.get("/photos/1/p/original")
    missing = client.get("/photos/1/p/512.webp")

    assert (served.status_code, served.data, served.mimetype) == (
        200,
        b"RIFF....WEBP",
        "image/webp",
    )
    assert original.status_code == 404
    assert missing.status_code == 404
