"""Idempotency-Key: an app's retry of a creating POST does the work once (issue 12)."""

from __future__ import annotations

import base64
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from realm import db
from realm.db import quotas
from tests.e2e.flows import Person
from tests.helpers import Client, Reply, in_hours, multipart, token, uid
from tests.photo_samples import jpeg


def parties_of(person: Person) -> int:
    with db.reading() as tx:
        return int(tx.scalar("SELECT count(*) FROM parties WHERE host_id = :h", h=person.id))


# One start time for every party here: a retry sends the very same body.
FIRST_ENTRY = in_hours(30).isoformat()


def create_party(api: Client, person: Person, key: str | None, flat: str = "KEYED") -> Reply:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(
        "/create-party",
        auth=person.token,
        json_body={"flat": flat, "first_entry": FIRST_ENTRY},
        headers=headers,
    )


def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing_more(
    api: Client,
) -> None:
    host = Person(api, "Retrying Host")
    key = str(uuid.uuid4())

    first = create_party(api, host, key)
    again = create_party(api, host, key)

    assert first.status == 201
    assert (again.status, again.body) == (201, first.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert parties_of(host) == 1


def test_without_a_key_every_call_creates(api: Client) -> None:
    host = Person(api, "Keyless Host")
    create_party(api, host, None)
    create_party(api, host, None)
    assert parties_of(host) == 2


def test_the_same_key_with_another_body_is_a_422(api: Client) -> None:
    host = Person(api, "Careless Host")
    key = str(uuid.uuid4())
    assert create_party(api, host, key, flat="FIRST").status == 201

    reply = create_party(api, host, key, flat="SECOND")

    assert (reply.status, reply.error_code) == (422, "idempotency_key_reused")
    assert parties_of(host) == 1


def test_the_same_key_on_another_operation_is_a_422(api: Client) -> None:
    host, guest = Person(api, "Host Of Keys"), Person(api, "Guest Of Keys")
    key = str(uuid.uuid4())
    party = create_party(api, host, key).body["id"]

    reply = api.post(
        "/create-invite",
        auth=host.token,
        json_body={"party_id": party, "guest_id": guest.id},
        headers={"Idempotency-Key": key},
    )

    assert (reply.status, reply.error_code) == (422, "idempotency_key_reused")


def test_keys_belong_to_their_caller(api: Client) -> None:
    first, second = Person(api, "First Keyholder"), Person(api, "Second Keyholder")
    key = "same-key-for-both"

    assert create_party(api, first, key).status == 201
    theirs = create_party(api, second, key)

    assert theirs.status == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert (parties_of(first), parties_of(second)) == (1, 1)


def test_concurrent_duplicates_run_once(api: Client) -> None:
    host = Person(api, "Impatient Host")
    key = str(uuid.uuid4())
    start = threading.Barrier(8)

    def send(_: int) -> Reply:
        start.wait()
        return create_party(api, host, key)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(send, range(8)))

    assert parties_of(host) == 1
    created = [r for r in replies if r.status == 201]
    assert created, [r.status for r in replies]
    assert all(r.body == created[0].body for r in created), "every 201 is the one party"
    others = [r for r in replies if r.status != 201]
    assert all((r.status, r.error_code) == (409, "idempotency_key_in_use") for r in others)
    assert all(r.headers.get("Retry-After") == "1" for r in others)


def test_a_request_that_failed_can_be_retried_with_its_key(api: Client) -> None:
    host = Person(api, "Hasty Host")
    key = str(uuid.uuid4())
    over = api.post(
        "/create-party",
        auth=host.token,
        json_body={"flat": "LATE", "first_entry": in_hours(-13).isoformat()},
        headers={"Idempotency-Key": key},
    )
    assert (over.status, over.error_code) == (422, "party_over")

    # A failure changed nothing and was not stored: the key is free for the corrected request.
    assert create_party(api, host, key).status == 201


def test_a_key_older_than_a_day_is_forgotten(api: Client) -> None:
    host = Person(api, "Returning Host")
    key = str(uuid.uuid4())
    assert create_party(api, host, key).status == 201
    with db.reading() as tx:
        tx.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            " WHERE subject = :s",
            s=quotas.subject_for(host.auth_uid),
        )

    reply = create_party(api, host, key)

    assert reply.status == 201
    assert "Idempotent-Replayed" not in reply.headers
    assert parties_of(host) == 2


def test_a_key_that_is_not_visible_ascii_is_a_400(api: Client) -> None:
    host = Person(api, "Odd Keys")
    for bad in ["", " ", "x" * 256]:
        reply = create_party(api, host, bad)
        assert (reply.status, reply.error_code) == (400, "invalid_idempotency_key"), bad
    assert parties_of(host) == 0


def test_a_signup_retried_with_a_new_multipart_boundary_is_the_same_request(api: Client) -> None:
    auth_uid = uid("multipart")
    key = str(uuid.uuid4())
    fields = {"display_name": "Multi Part", "email": f"{auth_uid}@example.test"}
    files = {"photo": ("me.jpg", jpeg(), "image/jpeg")}

    def signup() -> Reply:
        body, content_type = multipart(fields, files)  # a new boundary each time
        return api.post(
            "/signup",
            auth=token(auth_uid),
            data=body,
            headers={"Content-Type": content_type, "Idempotency-Key": key},
        )

    first, again = signup(), signup()

    assert first.status == 201
    assert (again.status, again.body) == (201, first.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    with db.reading() as tx:
        assert tx.scalar("SELECT count(*) FROM photos WHERE owner_id = :u", u=first.body["id"]) == 1


def test_a_photo_upload_retried_with_its_key_stores_one_photo(api: Client) -> None:
    person = Person(api, "Photo Retrier")
    key = str(uuid.uuid4())
    body = {"image_base64": base64.b64encode(jpeg()).decode()}
    replies = [
        api.post(
            "/photo-upload", auth=person.token, json_body=body, headers={"Idempotency-Key": key}
        )
        for _ in range(2)
    ]

    assert [r.status for r in replies] == [202, 202]
    assert replies[0].body == replies[1].body
    with db.reading() as tx:
        assert tx.scalar("SELECT count(*) FROM photos WHERE owner_id = :u", u=person.id) == 1
