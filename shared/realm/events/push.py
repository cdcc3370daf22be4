"""Push notifications: each notification also goes to the recipient's devices through FCM.

The port is ``Sender``: one FCM HTTP v1 request (``POST {endpoint}/v1/projects/{project}/
messages:send``) for one device, answered by a ``SendResult``. It has one adapter, ``FcmSender``,
pointed at Google in the cloud and at the dev stack's stand-in locally
(``realm.devstack.fcm``), so the local path speaks the very protocol the cloud does:

- the HTTP client is one ``urllib3.PoolManager`` per process (keep-alive connections, at most
  ``REALM_PUSH_CONCURRENCY`` of them, connect and read timeouts from ``realm.config``, no
  automatic retry of a request that may have been sent);
- in the cloud the bearer token is the function's own identity (google-auth default
  credentials, scope ``firebase.messaging``), fetched once and refreshed only when it comes
  within ``REFRESH_MARGIN_SECONDS`` of expiry (``GoogleAccessToken``), never per request;
  locally the stand-in only wants to see a bearer token, and gets a fixed word.

``deliver`` is what an event function calls: it sends one notification to every device of the
recipients, once per (event, device) however often the event is delivered (``push_deliveries``):

1. a short transaction *claims* the (event, device) pairs not yet served (a row ``sending``),
   and returns the devices' tokens; the connection goes back to the pool;
2. the requests go out concurrently (a bounded, process-wide thread pool over the pooled
   client), with no connection or transaction held;
3. another short transaction records each outcome: ``sent``; a token FCM calls
   ``UNREGISTERED`` or invalid is deleted (with its claims); a message FCM refuses outright is
   ``refused`` (sending it again could never succeed); a 429, 5xx, timeout or credentials
   failure gives its claim back;
4. if any claim was given back, or another delivery of the same event holds a claim still in
   its lease, ``PushRetry`` is raised: the event function fails and Pub/Sub delivers the event
   again, and only the devices not yet served are sent to then.

A delivery that crashes between sending and recording leaves claims in ``sending``: they are
taken again once older than the lease, so at worst that device is sent the notification twice.
The message is built so that a second copy replaces the first on the device instead of adding
to it: Android's ``collapse_key`` and notification ``tag``, APNs' ``apns-collapse-id`` and Web
Push's ``Topic`` are all the notification's id (the event id).

The payload carries the notification's title, body, type and ids (the notification id and the
party and invite ids), nothing else about anyone.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from realm.config import settings
from realm.db import guard
from realm.logs import log
from realm.process import Once, PerKey

if TYPE_CHECKING:
    from realm import db

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# A token is refreshed this long before it expires (Google's last an hour): requests in flight
# never carry one that expires on the way, and one refresh serves the instance for ~55 minutes.
REFRESH_MARGIN_SECONDS = 300
# How long a claim protects a device from a second delivery of the same event. Longer than
# notify-guest's timeout (60 s, terraform), so that a claim is only taken over from a delivery
# that is certainly over; a redelivery that meets a younger claim fails and comes back later.
CLAIM_LEASE_SECONDS = 300
# The ids a notification may carry that the app needs to open the right screen.
ID_FIELDS = ("party_id", "invite_id")
# Rows of push_deliveries older than this are swept a few hundred at a time by every delivery:
# no event that old is acted on any more (realm.events.inbound, too_old).
_SWEEP_BATCH = 500

Outcome = Literal["sent", "unregistered", "invalid", "refused", "retry"]


# -- what is sent --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushContent:
    """What a push says: the notification's id (its event id), type, title, body and ids."""

    notification_id: str
    type: str
    title: str
    body: str
    ids: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, notification_id: str, notification: Any) -> PushContent:
        """From a ``realm.events.notify.Notification`` (or anything with its fields): only the
        fields named in ``ID_FIELDS`` that are set are carried besides title, body and type."""
        ids = {
            name: str(getattr(notification, name))
            for name in ID_FIELDS
            if getattr(notification, name, None) is not None
        }
        return cls(
            notification_id, str(notification.type), notification.title, notification.body, ids
        )


def _topic(collapse_id: str) -> str:
    """Web Push's Topic: at most 32 characters of the URL-safe base64 alphabet (RFC 8030)."""
    try:
        return uuid.UUID(collapse_id).hex
    except ValueError:
        return hashlib.sha256(collapse_id.encode()).hexdigest()[:32]


def _collapse_id(notification_id: str) -> str:
    """apns-collapse-id is at most 64 bytes; an event id (a UUID) is 36."""
    if len(notification_id.encode()) <= 64:
        return notification_id
    return hashlib.sha256(notification_id.encode()).hexdigest()


def fcm_message(token: str, content: PushContent) -> dict[str, Any]:
    """The FCM HTTP v1 request body for one device. Data values are strings (FCM's rule)."""
    collapse = _collapse_id(content.notification_id)
    return {
        "message": {
            "token": token,
            "notification": {"title": content.title, "body": content.body},
            "data": {
                "notification_id": content.notification_id,
                "type": content.type,
                **content.ids,
            },
            "android": {"collapse_key": collapse, "notification": {"tag": collapse}},
            "apns": {"headers": {"apns-collapse-id": collapse}},
            "webpush": {"headers": {"Topic": _topic(content.notification_id)}},
        }
    }


# -- FCM's answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status: int  # HTTP status; 0 when no answer came
    code: str  # FCM's errorCode, else the error status, else what went wrong
    retry_after: float | None = None


_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def classify(status: int, body: bytes, retry_after: str | None = None) -> SendResult:
    """What an FCM HTTP v1 answer means for the device and for the event.

    FCM documents its errors as ``{"error": {"code", "message", "status", "details": [...]}}``
    where a detail of type FcmError carries the ``errorCode``. An invalid token and an invalid
    message are both 400 INVALID_ARGUMENT: the token's case carries an FcmError detail, the
    message's a google.rpc.BadRequest naming the field. Only the first deletes the token.
    """
    if 200 <= status < 300:
        return SendResult("sent", status, "")
    error: dict[str, Any] = {}
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
    except ValueError:
        pass
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    fcm_code = next((str(d.get("errorCode")) for d in details if d.get("@type") == _FCM_ERROR), "")
    code = fcm_code or str(error.get("status") or f"HTTP {status}")
    wait = _seconds(retry_after)
    if fcm_code == "UNREGISTERED" or (status == 404 and not fcm_code):
        return SendResult("unregistered", status, code)
    if fcm_code == "SENDER_ID_MISMATCH":  # a token of another Firebase project
        return SendResult("invalid", status, code)
    if status == 400:
        if any(d.get("@type") == _BAD_REQUEST for d in details) or not fcm_code:
            return SendResult("refused", status, code)
        return SendResult("invalid", status, code)
    if status == 429 or status >= 500 or status in (401, 403):
        # 401/403 (other than a token's sender mismatch) are our credentials or IAM: an
        # operator's fix, after which the redelivered event goes out.
        return SendResult("retry", status, code, wait)
    return SendResult("refused", status, code)


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None


# -- the port and its adapter ---------------------------------------------------------------------


class Sender(Protocol):
    name: str

    def send(self, message: dict[str, Any]) -> SendResult:
        """Sends one message; never raises (a failure is a ``retry`` result)."""
        ...


class AccessToken(Protocol):
    def token(self) -> str: ...

    def invalidate(self) -> None: ...


class StandInToken:
    """The dev stack's stand-in asks for a bearer token, as FCM does, but checks no more."""

    def token(self) -> str:
        return "stand-in"

    def invalidate(self) -> None:
        """Nothing to refresh."""


class GoogleAccessToken:
    """An OAuth access token of the function's own identity (for FCM unless another ``scope``
    is given: account deletion asks for Identity Toolkit's), kept until it is within
    ``margin`` seconds of expiry and then refreshed by one thread while the others wait."""

    def __init__(
        self,
        request: Any,
        credentials: Any = None,
        margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
        scope: str = SCOPE,
    ) -> None:
        if credentials is None:
            import google.auth

            auth: Any = google.auth
            credentials, _ = auth.default(scopes=[scope])
        self._credentials = credentials
        self._request = request
        self._margin = timedelta(seconds=margin)
        self._clock = clock  # google-auth keeps expiry as a naive UTC datetime
        self._lock = threading.Lock()
        self._stale = False
        self.refreshes = 0

    def _fresh(self) -> bool:
        credentials = self._credentials
        if self._stale or not credentials.token:
            return False
        expiry = credentials.expiry
        return expiry is None or bool(expiry - self._margin > self._clock())

    def token(self) -> str:
        if not self._fresh():
            with self._lock:
                if not self._fresh():
                    self._credentials.refresh(self._request)
                    self._stale = False
                    self.refreshes += 1
        return str(self._credentials.token)

    def invalidate(self) -> None:
        """FCM answered 401: the next request fetches a new token first."""
        self._stale = True


class FcmSender:
    """FCM HTTP v1 over a pooled urllib3 client: Google in the cloud, the stand-in locally."""

    def __init__(
        self,
        endpoint: str,
        project_id: str,
        token: AccessToken | None = None,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        connections: int = 16,
    ) -> None:
        import urllib3

        self.name = "fcm" if endpoint.startswith("https://") else "fcm-stand-in"
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.http = urllib3.PoolManager(
            num_pools=2,
            maxsize=connections,
            block=True,  # at most `connections` sockets; more requests wait for one
            timeout=timeout,
            # A failed connect is retried once (nothing was sent); a request that may have
            # reached FCM is not, since that could show the notification twice.
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0),
        )
        self._pool_timeout = connect_timeout + read_timeout
        if token is None:
            import google.auth.transport.urllib3

            transport: Any = google.auth.transport.urllib3
            token = GoogleAccessToken(transport.Request(self.http))
        self._token = token

    def send(self, message: dict[str, Any]) -> SendResult:
        import urllib3

        try:
            bearer = self._token.token()
        except Exception as error:  # no credentials, metadata server or IAM down
            log.error("push: no access token for FCM: %s", error)
            return SendResult("retry", 0, f"no access token: {type(error).__name__}")
        try:
            response = self.http.request(
                "POST",
                self.url,
                body=json.dumps(message, separators=(",", ":")).encode(),
                headers={
                    "Authorization": f"Bearer {bearer}",
                    "Content-Type": "application/json; charset=UTF-8",
                },
                pool_timeout=self._pool_timeout,
            )
        except urllib3.exceptions.HTTPError as error:  # timeouts and connection failures
            return SendResult("retry", 0, type(error).__name__)
        if response.status == 401:
            self._token.invalidate()
        return classify(response.status, response.data, response.headers.get("Retry-After"))


def choice() -> tuple[str, ...]:
    """FCM in the cloud, the stand-in when the dev stack gives its address, else nothing."""
    if settings.fcm_endpoint is None:
        return ("none",)
    kind = "cloud" if settings.env == "cloud" else "stand-in"
    return (kind, settings.fcm_endpoint, settings.project_id)


def _make_sender(key: tuple[str, ...]) -> Sender | None:
    if key[0] == "none":
        return None
    return FcmSender(
        key[1],
        key[2],
        None if key[0] == "cloud" else StandInToken(),
        connect_timeout=settings.bounds.push_connect_seconds,
        read_timeout=settings.bounds.push_read_seconds,
        connections=settings.push_concurrency,
    )


_senders: PerKey[tuple[str, ...], Sender | None] = PerKey(_make_sender)
_executor: Once[ThreadPoolExecutor] = Once(
    lambda: ThreadPoolExecutor(settings.push_concurrency, thread_name_prefix="push")
)


def default_sender() -> Sender | None:
    """The process's sender, made once; None where push is not configured (a test process
    without the stand-in): notifications then go to the feed only."""
    return _senders.get(choice())


# -- once per (event, device) -------------------------------------------------------------------


class PushRetry(Exception):
    """Some devices could not be served now: fail the event function so Pub/Sub redelivers."""


@dataclass(frozen=True)
class Claim:
    device_id: int
    token: str


@dataclass
class Report:
    """What one delivery did, by device count."""

    claimed: int = 0
    sent: int = 0
    removed: int = 0  # tokens FCM called unregistered or invalid, deleted
    refused: int = 0
    retry: int = 0  # claims given back for the redelivery
    busy: int = 0  # devices another delivery of this event holds a claim on
    codes: dict[str, int] = field(default_factory=dict)

    def as_fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v}


_CLAIM = """
WITH claimed AS (
    INSERT INTO push_deliveries (event_id, device_id, state, claimed_at)
    SELECT CAST(:event AS uuid), d.id, 'sending', now()
    FROM users u JOIN devices d ON d.user_id = u.id
    WHERE u.auth_uid = ANY(CAST(:uids AS text[]))
    ORDER BY d.id
    ON CONFLICT (event_id, device_id) DO UPDATE SET claimed_at = now()
        WHERE push_deliveries.state = 'sending'
          AND push_deliveries.claimed_at < now() - make_interval(secs => :lease)
    RETURNING device_id
)
SELECT d.id, d.token FROM claimed c JOIN devices d ON d.id = c.device_id ORDER BY d.id
"""

# now() is the transaction's start, the same in every statement of it: read here, not in one
# more round trip.
_BUSY = """
SELECT count(*) AS busy, now() AS started FROM push_deliveries p
JOIN devices d ON d.id = p.device_id JOIN users u ON u.id = d.user_id
WHERE p.event_id = CAST(:event AS uuid) AND p.state = 'sending'
  AND u.auth_uid = ANY(CAST(:uids AS text[]))
  AND NOT (p.device_id = ANY(CAST(:mine AS bigint[])))
"""


def _claim(
    pool: db.Pool, event_id: uuid.UUID, recipients: Sequence[str], lease: float
) -> tuple[list[Claim], int, datetime]:
    with pool.transaction() as tx:
        rows = tx.all(_CLAIM, event=str(event_id), uids=list(recipients), lease=lease)
        claims = [Claim(int(row["id"]), str(row["token"])) for row in rows]
        row = tx.one(
            _BUSY,
            event=str(event_id),
            uids=list(recipients),
            mine=[claim.device_id for claim in claims],
        )
    assert row is not None  # an aggregate without GROUP BY is always one row
    return claims, int(row["busy"]), row["started"]


def _send_all(
    sender: Sender, claims: Sequence[Claim], content: PushContent, executor: Executor | None
) -> list[SendResult]:
    # Checked here, in the delivering thread: the sends themselves run on the executor's.
    guard.outside_call("fcm.send")

    def one(claim: Claim) -> SendResult:
        return sender.send(fcm_message(claim.token, content))

    if len(claims) == 1:
        return [one(claims[0])]
    return list((executor or _executor.get()).map(one, claims))


def _ids(claims: Iterable[Claim]) -> list[int]:
    return [claim.device_id for claim in claims]


def _record(
    pool: db.Pool,
    event_id: uuid.UUID,
    outcomes: Mapping[Outcome, list[Claim]],
    started: datetime,
) -> None:
    event = str(event_id)
    with pool.transaction() as tx:
        finished: tuple[Outcome, ...] = ("sent", "refused")
        for state in finished:
            if outcomes.get(state):
                tx.execute(
                    "UPDATE push_deliveries SET state = :state, done_at = now()"
                    " WHERE event_id = CAST(:event AS uuid)"
                    " AND device_id = ANY(CAST(:ids AS bigint[]))",
                    state=state,
                    event=event,
                    ids=_ids(outcomes[state]),
                )
        if outcomes.get("retry"):
            tx.execute(
                "DELETE FROM push_deliveries WHERE event_id = CAST(:event AS uuid)"
                " AND device_id = ANY(CAST(:ids AS bigint[])) AND state = 'sending'",
                event=event,
                ids=_ids(outcomes["retry"]),
            )
        dead = [*outcomes.get("unregistered", []), *outcomes.get("invalid", [])]
        if dead:
            # Unless the app registered the token again after we sent (it knows better now).
            # Its claims and deliveries go with it (ON DELETE CASCADE).
            tx.execute(
                "DELETE FROM devices WHERE id = ANY(CAST(:ids AS bigint[]))"
                " AND registered_at <= :started",
                ids=_ids(dead),
                started=started,
            )
        tx.execute(
            "DELETE FROM push_deliveries WHERE (event_id, device_id) IN ("
            " SELECT event_id, device_id FROM push_deliveries"
            " WHERE claimed_at < now() - make_interval(secs => :age) LIMIT :batch)",
            age=settings.event_max_age_seconds + CLAIM_LEASE_SECONDS,
            batch=_SWEEP_BATCH,
        )


def deliver(
    event_id: uuid.UUID,
    recipients: Sequence[str],
    content: PushContent,
    *,
    sender: Sender | None = None,
    pool: db.Pool | None = None,
    lease: float = CLAIM_LEASE_SECONDS,
    executor: Executor | None = None,
) -> Report:
    """Sends ``content`` to every device of ``recipients`` (auth uids) not yet served for
    ``event_id``; raises ``PushRetry`` when some must wait for the event's redelivery.

    Holds no database connection while FCM is called (see the module's docstring). The
    requests go out on the process's pool of ``REALM_PUSH_CONCURRENCY`` threads, or on
    ``executor`` (the benchmark compares sizes)."""
    chosen = sender or default_sender()
    report = Report()
    if chosen is None or not recipients:
        return report
    if pool is None:
        from realm import db

        pool = db.pool()
    claims, report.busy, started = _claim(pool, event_id, recipients, lease)
    report.claimed = len(claims)
    outcomes: dict[Outcome, list[Claim]] = {}
    if claims:
        for claim, result in zip(claims, _send_all(chosen, claims, content, executor), strict=True):
            outcomes.setdefault(result.outcome, []).append(claim)
            if result.outcome != "sent":
                report.codes[result.code] = report.codes.get(result.code, 0) + 1
        _record(pool, event_id, outcomes, started)
    report.sent = len(outcomes.get("sent", []))
    report.removed = len(outcomes.get("unregistered", [])) + len(outcomes.get("invalid", []))
    report.refused = len(outcomes.get("refused", []))
    report.retry = len(outcomes.get("retry", []))
    fields = {"event_id": str(event_id), "sender": chosen.name, **report.as_fields()}
    if report.refused:
        log.error("push: FCM refused the message itself", extra={"fields": fields})
    if report.retry or report.busy:
        log.warning("push: some devices wait for the redelivery", extra={"fields": fields})
        raise PushRetry(
            f"{report.retry} device(s) to retry ({report.codes}), {report.busy} claimed by"
            " another delivery of this event"
        )
    if claims:
        log.info("push delivered", extra={"fields": fields})
    return report
