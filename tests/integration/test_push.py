"""Push delivery against the real PostgreSQL and the FCM stand-in: once per (event, device)
under redelivery, partial failures resumed, dead tokens deleted, 429/503 retried through the
event's redelivery, and no database connection held while FCM is called."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from realm import db
from realm.devstack.fcm import StandInFcm
from realm.events import push
from realm.events.push import FcmSender, PushContent, PushRetry, SendResult, StandInToken
from tests.helpers import add_user, uid

CONTENT = PushContent("", "invite-created", "You're invited", "Host invited you to FLAT.", {})


@pytest.fixture
def fcm(stand_in: StandInFcm) -> StandInFcm:
    stand_in.clear()
    return stand_in


@pytest.fixture
def sender(fcm: StandInFcm) -> FcmSender:
    return FcmSender(fcm.url, "realm-test", StandInToken(), connections=8)


def a_user_with_devices(*tokens: str) -> str:
    """A user whose devices are ``tokens`` (made unique to the test), returning the auth uid."""
    auth_uid = uid("guest")
    with db.transaction() as tx:
        user_id = add_user(tx, auth_uid)
        for token in tokens:
            tx.execute(
                "INSERT INTO devices (user_id, token, platform) VALUES (:u, :t, 'android')",
                u=user_id,
                t=token,
            )
    return auth_uid


def tokens(*shapes: str) -> list[str]:
    return [f"{shape}-{uuid.uuid4().hex}" for shape in shapes]


def content(event_id: uuid.UUID) -> PushContent:
    return PushContent(
        str(event_id),
        "invite-created",
        "You're invited",
        "Host 3 invited you to FLAT.",
        {"party_id": "39", "invite_id": "7"},
    )


def successes(fcm: StandInFcm, *of: str) -> Counter[str]:
    return Counter(r.token for r in fcm.received(set(of)) if r.status == 200 and r.token)


def device_tokens() -> set[str]:
    with db.transaction() as tx:
        return {row["token"] for row in tx.all("SELECT token FROM devices")}


def states(event_id: uuid.UUID) -> Counter[str]:
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT state FROM push_deliveries WHERE event_id = CAST(:e AS uuid)", e=str(event_id)
        )
    return Counter(row["state"] for row in rows)


pytestmark = pytest.mark.usefixtures("clean_db")


def test_each_device_of_the_recipient_gets_the_notification_with_its_ids_and_collapse_tags(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    phone, tablet = tokens("ok", "ok")
    event_id = uuid.uuid4()

    report = push.deliver(
        event_id, [a_user_with_devices(phone, tablet)], content(event_id), sender=sender
    )

    assert report.sent == 2
    assert successes(fcm, phone, tablet) == {phone: 1, tablet: 1}
    message = fcm.received({phone})[0].message
    assert message["notification"] == {
        "title": "You're invited",
        "body": "Host 3 invited you to FLAT.",
    }
    assert message["data"] == {
        "notification_id": str(event_id),
        "type": "invite-created",
        "party_id": "39",
        "invite_id": "7",
    }
    assert message["android"]["collapse_key"] == str(event_id)
    assert message["android"]["notification"]["tag"] == str(event_id)
    assert message["apns"]["headers"]["apns-collapse-id"] == str(event_id)
    assert message["webpush"]["headers"]["Topic"] == event_id.hex
    assert set(message) == {"token", "notification", "data", "android", "apns", "webpush"}


def test_a_redelivered_event_sends_nothing_again(fcm: StandInFcm, sender: FcmSender) -> None:
    phone, tablet = tokens("ok", "ok")
    guest = a_user_with_devices(phone, tablet)
    event_id = uuid.uuid4()

    for _ in range(3):
        push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert successes(fcm, phone, tablet) == {phone: 1, tablet: 1}
    assert states(event_id) == {"sent": 2}


def test_deliveries_of_one_event_at_once_send_to_each_device_once(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    device_list = tokens(*["ok"] * 5)
    guest = a_user_with_devices(*device_list)
    event_id = uuid.uuid4()

    def one_delivery(_: int) -> str:
        try:
            push.deliver(event_id, [guest], content(event_id), sender=sender)
        except PushRetry:
            return "retry"  # another delivery held a claim: Pub/Sub would come back later
        return "done"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one_delivery, range(8)))
    # The redelivery of whichever were told to retry, once the others are done.
    push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert successes(fcm, *device_list) == dict.fromkeys(device_list, 1)


def test_after_a_partial_failure_the_redelivery_sends_only_to_the_devices_not_yet_served(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    first, flaky, last = tokens("ok", "flaky", "ok")
    guest = a_user_with_devices(first, flaky, last)
    event_id = uuid.uuid4()

    with pytest.raises(PushRetry):
        push.deliver(event_id, [guest], content(event_id), sender=sender)
    assert successes(fcm, first, flaky, last) == {first: 1, last: 1}
    assert states(event_id) == {"sent": 2}, "the failed device's claim was given back"

    push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert successes(fcm, first, flaky, last) == {first: 1, flaky: 1, last: 1}
    assert [r.status for r in fcm.received({flaky})] == [503, 200]


@pytest.mark.parametrize("shape", ["unregistered", "invalid", "mismatch"])
def test_a_token_fcm_calls_dead_is_deleted_and_the_event_is_done(
    fcm: StandInFcm, sender: FcmSender, shape: str
) -> None:
    good, dead = tokens("ok", shape)
    guest = a_user_with_devices(good, dead)
    event_id = uuid.uuid4()

    report = push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert (report.sent, report.removed) == (1, 1)
    assert dead not in device_tokens()
    assert good in device_tokens()
    assert states(event_id) == {"sent": 1}


@pytest.mark.parametrize("shape", ["quota", "unavailable"])
def test_a_429_or_503_fails_the_event_so_that_pubsub_delivers_it_again(
    fcm: StandInFcm, sender: FcmSender, shape: str
) -> None:
    good, busy = tokens("ok", shape)
    guest = a_user_with_devices(good, busy)
    event_id = uuid.uuid4()

    for attempt in (1, 2):
        with pytest.raises(PushRetry, match="1 device"):
            push.deliver(event_id, [guest], content(event_id), sender=sender)
        assert len(fcm.received({busy})) == attempt, "each redelivery tries that device again"

    assert busy in device_tokens(), "a busy FCM is no reason to forget a device"
    assert successes(fcm, good) == {good: 1}
    assert states(event_id) == {"sent": 1}


def test_a_message_fcm_refuses_is_not_sent_again_and_keeps_the_token(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    class Malformed:
        name = "malformed"

        def send(self, message: dict[str, Any]) -> SendResult:
            message["message"]["bogus"] = True  # a field FCM does not know
            return sender.send(message)

    (phone,) = tokens("ok")
    guest = a_user_with_devices(phone)
    event_id = uuid.uuid4()

    for _ in range(2):
        report = push.deliver(event_id, [guest], content(event_id), sender=Malformed())

    assert report.refused == 0, "the second delivery found it done"
    assert len(fcm.received({phone})) == 1
    assert fcm.received({phone})[0].status == 400
    assert states(event_id) == {"refused": 1}
    assert phone in device_tokens()


def test_a_claim_left_by_a_crash_is_taken_again_once_its_lease_is_over(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    (phone,) = tokens("ok")
    guest = a_user_with_devices(phone)
    event_id = uuid.uuid4()
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO push_deliveries (event_id, device_id, state, claimed_at)"
            " SELECT CAST(:e AS uuid), id, 'sending', now() - interval '10 minutes'"
            " FROM devices WHERE token = :t",
            e=str(event_id),
            t=phone,
        )

    push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert successes(fcm, phone) == {phone: 1}
    assert states(event_id) == {"sent": 1}


def test_a_claim_still_in_its_lease_makes_the_redelivery_wait_without_sending(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    (phone,) = tokens("ok")
    guest = a_user_with_devices(phone)
    event_id = uuid.uuid4()
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO push_deliveries (event_id, device_id, state)"
            " SELECT CAST(:e AS uuid), id, 'sending' FROM devices WHERE token = :t",
            e=str(event_id),
            t=phone,
        )

    with pytest.raises(PushRetry, match="1 claimed by another delivery"):
        push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert fcm.received({phone}) == []


def test_no_database_connection_is_held_while_fcm_is_called(fcm: StandInFcm) -> None:
    from realm.config import settings

    one_connection = db.Pool(db.connection_factory(settings), size=1, wait_seconds=0.5)
    inner = FcmSender(fcm.url, "realm-test", StandInToken())
    checked: list[bool] = []

    class Checking:
        name = "checking"

        def send(self, message: dict[str, Any]) -> SendResult:
            with one_connection.transaction():  # PoolExhausted if deliver held the only one
                checked.append(True)
            return inner.send(message)

    phones = tokens("ok", "ok", "ok")
    event_id = uuid.uuid4()
    try:
        push.deliver(
            event_id,
            [a_user_with_devices(*phones)],
            content(event_id),
            sender=Checking(),
            pool=one_connection,
        )
    finally:
        one_connection.close()

    assert checked == [True, True, True]


def test_every_recipient_of_a_batch_is_served_and_unknown_ones_are_skipped(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    phones = tokens(*["ok"] * 6)
    guests = [a_user_with_devices(*phones[n : n + 2]) for n in range(0, 6, 2)]
    event_id = uuid.uuid4()

    report = push.deliver(
        event_id, [*guests, "nobody-" + uuid.uuid4().hex], content(event_id), sender=sender
    )

    assert report.sent == 6
    assert successes(fcm, *phones) == dict.fromkeys(phones, 1)


def test_without_a_configured_sender_nothing_is_claimed() -> None:
    (phone,) = tokens("ok")
    event_id = uuid.uuid4()

    report = push.deliver(event_id, [a_user_with_devices(phone)], content(event_id))

    assert report.claimed == 0
    assert states(event_id) == {}


def test_delivery_rows_older_than_any_event_still_acted_on_are_swept(
    fcm: StandInFcm, sender: FcmSender
) -> None:
    old_event = uuid.uuid4()
    (phone,) = tokens("ok")
    guest = a_user_with_devices(phone)
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO push_deliveries (event_id, device_id, state, claimed_at, done_at)"
            " SELECT CAST(:e AS uuid), id, 'sent', now() - interval '30 days',"
            " now() - interval '30 days' FROM devices WHERE token = :t",
            e=str(old_event),
            t=phone,
        )

    event_id = uuid.uuid4()
    push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert states(old_event) == {}
    assert states(event_id) == {"sent": 1}


def test_many_threads_share_one_sender_and_its_pool(fcm: StandInFcm, sender: FcmSender) -> None:
    phones = tokens(*["ok"] * 40)
    guest = a_user_with_devices(*phones)
    event_id = uuid.uuid4()
    seen: set[int] = set()
    lock = threading.Lock()
    original = sender.send

    def counting(message: dict[str, Any]) -> SendResult:
        with lock:
            seen.add(threading.get_ident())
        return original(message)

    sender.send = counting  # type: ignore[method-assign]
    report = push.deliver(event_id, [guest], content(event_id), sender=sender)

    assert report.sent == 40
    assert 1 < len(seen) <= 16, "sent concurrently, by the bounded pool"
