"""Profile photos through the local stack over HTTP: signup and photo-upload into the storage
emulator, make-thumbnail by Pub/Sub push, and the photo's URLs served back.

The test plays Pub/Sub for make-thumbnail: it takes the photo-uploaded event from the outbox and
POSTs it to /make-thumbnail as a push subscription would. (The relay may deliver it as well;
the function is idempotent, so that changes nothing.)
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from typing import Any

import pytest

from realm import db
from realm.config import settings
from realm.media import storage
from tests import photo_samples as samples
from tests.helpers import Client, Reply, multipart, token, uid

pytestmark = pytest.mark.usefixtures("storage_emulator")


class Member:
    def __init__(self, api: Client, name: str, photo: bytes | None = None) -> None:
        self.api = api
        self.auth_uid = uid(name.lower())
        self.token = token(self.auth_uid)
        files = {"photo": ("me.jpg", photo, "image/jpeg")} if photo is not None else None
        body, content_type = multipart(
            {"display_name": name, "email": f"{self.auth_uid}@example.test"}, files
        )
        self.signup = api.post(
            "/signup", auth=self.token, data=body, headers={"Content-Type": content_type}
        )
        assert self.signup.status == 201, self.signup
        self.id: int = self.signup.body["id"]

    def upload_base64(self, data: bytes, prefix: str = "") -> Reply:
        encoded = prefix + base64.b64encode(data).decode()
        return self.api.post("/photo-upload", auth=self.token, json_body={"image_base64": encoded})

    def upload_file(
        self, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
    ) -> Reply:
        body, form_type = multipart({}, {"photo": (filename, data, content_type)})
        return self.api.post(
            "/photo-upload", auth=self.token, data=body, headers={"Content-Type": form_type}
        )

    def photo(self) -> dict[str, Any] | None:
        reply = self.api.get("/me", auth=self.token)
        assert reply.status == 200, reply
        photo: dict[str, Any] | None = reply.body["photo"]
        return photo

    def stored_objects(self) -> list[str]:
        return storage.store().keys(f"photos/{self.id}/")

    def photo_rows(self) -> int:
        with db.transaction() as tx:
            return int(tx.scalar("SELECT count(*) FROM photos WHERE owner_id = :u", u=self.id))


def _message(photo_id: str) -> dict[str, Any]:
    with db.transaction() as tx:
        message = tx.scalar(
            "SELECT message FROM outbox"
            " WHERE type = 'photo-uploaded' AND message->'data'->>'photo_id' = :id",
            id=photo_id,
        )
    assert message is not None, f"no photo-uploaded event for {photo_id}"
    return message if isinstance(message, dict) else dict(json.loads(message))


def deliver(api: Client, photo_id: str) -> Reply:
    """POSTs the photo's event to make-thumbnail the way a Pub/Sub push subscription does."""
    message = _message(photo_id)
    envelope = {
        "message": {
            "data": base64.b64encode(json.dumps(message).encode()).decode(),
            "attributes": {"event_id": message["event_id"], "type": message["type"]},
            "messageId": str(uuid.uuid4().int % 10**16),
            "publishTime": "2025-01-01T00:00:00.000Z",
        },
        "subscription": f"projects/{settings.project_id}/subscriptions/make-thumbnail",
    }
    return api.post("/make-thumbnail", json_body=envelope)


def ready_photo(member: Member, photo_id: str) -> dict[str, Any]:
    delivered = deliver(member.api, photo_id)
    assert 200 <= delivered.status < 300, delivered
    photo = member.photo()
    assert photo is not None
    assert photo["id"] == photo_id
    assert photo["status"] == "ready", photo
    return photo


def fetch(url: str) -> bytes:
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/webp"
        data: bytes = response.read()
        return data


def assert_served_at_their_sizes(urls: dict[str, str], display: tuple[int, int]) -> None:
    assert set(urls) == {"display", "512", "128"}
    sizes = {name: samples.decode(fetch(url)).size for name, url in urls.items()}
    assert sizes == {"display": display, "512": (512, 512), "128": (128, 128)}


# --- uploads that end ready -------------------------------------------------------------------


def test_a_base64_upload_ends_ready_with_thumbnails_that_decode_at_their_sizes(
    api: Client,
) -> None:
    member = Member(api, "Base")

    accepted = member.upload_base64(samples.jpeg((1600, 1200)))

    assert accepted.status == 202, accepted
    assert accepted.body == {"photo_id": accepted.body["photo_id"], "status": "processing"}
    photo = ready_photo(member, accepted.body["photo_id"])
    assert_served_at_their_sizes(photo["urls"], display=(1280, 960))


def test_a_base64_upload_may_carry_a_data_url_prefix(api: Client) -> None:
    member = Member(api, "Prefix")

    accepted = member.upload_base64(samples.png((300, 200)), prefix="data:image/png;base64,")

    assert accepted.status == 202, accepted
    photo = ready_photo(member, accepted.body["photo_id"])
    assert_served_at_their_sizes(photo["urls"], display=(300, 200))


def test_a_multipart_upload_ends_ready_with_thumbnails_that_decode_at_their_sizes(
    api: Client,
) -> None:
    member = Member(api, "Multi")

    accepted = member.upload_file(samples.webp((900, 1200)), "x.webp", "image/webp")

    assert accepted.status == 202, accepted
    photo = ready_photo(member, accepted.body["photo_id"])
    assert_served_at_their_sizes(photo["urls"], display=(900, 1200))


def test_signup_with_a_photo_ends_ready_with_thumbnails_that_decode_at_their_sizes(
    api: Client,
) -> None:
    member = Member(api, "Newcomer", photo=samples.jpeg((800, 600)))

    signed_up = member.signup.body["photo"]
    assert signed_up["status"] == "processing"
    assert signed_up["urls"] is None
    photo = ready_photo(member, signed_up["id"])
    assert_served_at_their_sizes(photo["urls"], display=(800, 600))


def test_the_served_images_carry_no_gps_location_and_are_upright(api: Client) -> None:
    member = Member(api, "Traveller")
    gps = member.upload_base64(samples.jpeg_with_gps())
    gps_photo = ready_photo(member, gps.body["photo_id"])
    rotated = member.upload_base64(samples.jpeg_rotated_by_exif())
    rotated_photo = ready_photo(member, rotated.body["photo_id"])

    for url in gps_photo["urls"].values():
        served = fetch(url)
        assert samples.gps_of(served) == {}
        assert dict(samples.decode(served).getexif()) == {}
    assert samples.decode(fetch(rotated_photo["urls"]["display"])).size == (400, 600)


def test_the_same_event_delivered_three_times_leaves_one_set_of_thumbnails(api: Client) -> None:
    member = Member(api, "Thrice")
    photo_id = member.upload_base64(samples.jpeg()).body["photo_id"]

    replies = [deliver(api, photo_id) for _ in range(3)]

    assert all(200 <= reply.status < 300 for reply in replies), replies
    assert member.stored_objects() == [
        f"photos/{member.id}/{photo_id}/{name}"
        for name in ("128.webp", "512.webp", "display.webp", "original")
    ]
    event_id = _message(photo_id)["event_id"]
    with db.transaction() as tx:
        processed = tx.scalar(
            "SELECT count(*) FROM processed_events WHERE event_id = :e", e=uuid.UUID(event_id)
        )
    assert processed == 1
    photo = member.photo()
    assert photo is not None
    assert photo["status"] == "ready"


def test_a_hosts_photo_urls_appear_on_the_guests_party_list(api: Client) -> None:
    host, guest = Member(api, "Host"), Member(api, "Guest")
    ready_photo(host, host.upload_base64(samples.jpeg()).body["photo_id"])
    first_entry = (time.time() + 86400, "Z")
    party = api.post(
        "/create-party",
        auth=host.token,
        json_body={
            "flat": "PHOTOFLAT",
            "first_entry": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(first_entry[0]))
            + "+00:00",
        },
    )
    assert party.status == 201, party
    invited = api.post(
        "/create-invite",
        auth=host.token,
        json_body={"party_id": party.body["id"], "guest_id": guest.id},
    )
    assert invited.status == 201, invited

    [listed] = api.get("/list-parties?view=invited", auth=guest.token).body["parties"]

    assert listed["host"]["photo"]["status"] == "ready"
    assert_served_at_their_sizes(listed["host"]["photo"]["urls"], display=(640, 480))


# --- uploads refused at the door ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (samples.truncated_jpeg(), 422, "undecodable_image"),
        (samples.gif(), 415, "unsupported_media_type"),
        (samples.pdf(), 415, "unsupported_media_type"),
        (samples.text_file(), 415, "unsupported_media_type"),
        (samples.png_declaring(100_000, 100_000), 422, "too_many_pixels"),
    ],
    ids=["truncated-jpeg", "gif", "pdf", "text-named-photo.jpg", "png-declaring-10G-pixels"],
)
@pytest.mark.parametrize("way", ["base64", "multipart"])
def test_a_bad_image_is_refused_and_leaves_neither_object_nor_row(
    api: Client, way: str, data: bytes, status: int, code: str
) -> None:
    member = Member(api, "Refused")

    started = time.perf_counter()
    if way == "base64":
        reply = member.upload_base64(data)
    else:  # named photo.jpg and declared image/jpeg, whatever it really is
        reply = member.upload_file(data, "photo.jpg", "image/jpeg")
    elapsed = time.perf_counter() - started

    assert (reply.status, reply.error_code) == (status, code), reply
    assert elapsed < 2.0
    assert member.stored_objects() == []
    assert member.photo_rows() == 0
    assert member.photo() is None


def test_a_bad_photo_at_signup_refuses_the_signup_and_stores_nothing(api: Client) -> None:
    auth_uid = uid("refused")
    body, content_type = multipart(
        {"display_name": "Refused", "email": f"{auth_uid}@example.test"},
        {"photo": ("photo.jpg", samples.pdf(), "image/jpeg")},
    )

    reply = api.post(
        "/signup", auth=token(auth_uid), data=body, headers={"Content-Type": content_type}
    )

    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM users WHERE auth_uid = :u", u=auth_uid) == 0


@pytest.mark.parametrize(
    "text", ["this is not base64!", "data:image/jpeg;base64,@@@@", "QUJD\u00e9"], ids=repr
)
def test_invalid_base64_is_refused_and_leaves_nothing(api: Client, text: str) -> None:
    member = Member(api, "Garbled")

    reply = member.upload_base64(b"", prefix=text)

    assert (reply.status, reply.error_code) == (422, "invalid_base64"), reply
    assert member.stored_objects() == []
    assert member.photo_rows() == 0


def test_an_oversize_base64_image_gets_413_and_leaves_nothing(api: Client) -> None:
    member = Member(api, "Big")
    too_big = b"\xff\xd8\xff" + bytes(settings.max_upload_bytes)

    reply = member.upload_base64(too_big)

    assert (reply.status, reply.error_code) == (413, "payload_too_large"), reply
    assert member.stored_objects() == []
    assert member.photo_rows() == 0


def test_an_oversize_multipart_file_gets_413_and_leaves_nothing(api: Client) -> None:
    member = Member(api, "Bigger")
    too_big = b"\xff\xd8\xff" + bytes(settings.max_upload_bytes)

    reply = member.upload_file(too_big)

    assert (reply.status, reply.error_code) == (413, "payload_too_large"), reply
    assert member.stored_objects() == []
    assert member.photo_rows() == 0


def test_a_body_over_the_request_limit_gets_413_before_it_is_read(api: Client) -> None:
    member = Member(api, "Biggest")
    body = b'{"image_base64": "' + b"A" * (settings.max_upload_bytes * 2) + b'"}'

    reply = api.post(
        "/photo-upload",
        auth=member.token,
        data=body,
        headers={"Content-Type": "application/json"},
    )

    assert (reply.status, reply.error_code) == (413, "payload_too_large"), reply
    assert member.photo_rows() == 0


# --- whose photo --------------------------------------------------------------------------------


def test_a_user_cannot_change_another_users_photo(api: Client) -> None:
    alice, mallory = Member(api, "Alice"), Member(api, "Mallory")
    alices = alice.upload_base64(samples.jpeg()).body["photo_id"]

    # There is no way to name another user: extra fields are refused...
    aimed = api.post(
        "/photo-upload",
        auth=mallory.token,
        json_body={
            "image_base64": base64.b64encode(samples.png()).decode(),
            "user_id": alice.id,
        },
    )
    # ...and an upload only ever becomes the uploader's own photo.
    mallorys = mallory.upload_base64(samples.png()).body["photo_id"]

    assert (aimed.status, aimed.error_code) == (422, "validation_error")
    alice_photo, mallory_photo = alice.photo(), mallory.photo()
    assert alice_photo is not None
    assert mallory_photo is not None
    assert (alice_photo["id"], mallory_photo["id"]) == (alices, mallorys)
    assert alice.photo_rows() == 1
    assert mallory.photo_rows() == 1


def test_uploading_needs_a_token_and_a_signed_up_caller(api: Client) -> None:
    image = {"image_base64": base64.b64encode(samples.jpeg()).decode()}

    anonymous = api.post("/photo-upload", json_body=image)
    stranger = api.post("/photo-upload", auth=token(uid("stranger")), json_body=image)

    assert anonymous.status == 401
    assert (stranger.status, stranger.error_code) == (403, "signup_required")
