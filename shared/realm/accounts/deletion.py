"""Deleting an account (DESIGN §13; docs/decisions/0052-account-deletion.md).

Two parts.

**The request** (``delete``, delete-account) is one PostgreSQL transaction. After it the person
is gone from the database, and everyone they leave behind has been dealt with:

- their upcoming hosted parties are cancelled as cancel-party cancels them
  (``hosting.changes.announce_cancellation``): everyone concerned is told, with a text that
  says the host left and does not name them;
- their invites are removed as remove-guest removes one (``hosting.changes.drop_invite``): a
  seat they held in an open party goes to that party's waitlist, in order;
- every party they hosted (the past ones, and the upcoming ones just cancelled) is deleted
  with its guest list, co-hosts, links and reminders: a party cannot be shown without its host;
- their co-host roles, the invite links they made, their blocks both ways, devices (and what
  was pushed to them), calendar secret, idempotency keys (whose stored answers hold their
  profile), photo rows, search terms, and the user row;
- the outbox events that name them (``_forget_events``): deleted, or, where they appear only in
  a list of recipients, taken out of it; the notifications those events put in other people's
  feeds with their name are noted for the erasure (``account_erasure_mentions``);
- quota spends stay: they are counted under a SHA-256 of the uid so that deleting and signing up
  again does not reset a quota (realm.db.quotas), and they hold nothing else.

Every party is locked (``capacity.lock``) before it is changed, all of them in one statement in
id order, after the user's own row: two deletions at once, or a deletion and an answer, queue
instead of deadlocking.

**The erasure** (``erase``, the account-deleted event, erase-account): what lives outside
PostgreSQL. The event carries only the erasure's id; the erasure row holds the uid and user id
it needs and which steps are done: the photo objects (``photos/{user_id}/…``), the person's
Firestore feed, the notifications in others' feeds that name them, and the Firebase Auth
account. Each step is one or more bounded calls holding no database connection, recorded
once done; a failure raises so that Pub/Sub delivers the event again, and the redelivery does
only the steps left. Once all are done the erasure keeps only a SHA-256 of the uid and its
time, which notify-guest uses to drop events about the account that arrive late
(realm.events.erased), until no such event can still be acted on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from realm import db, logs
from realm.config import settings
from realm.db import Tx, quotas
from realm.errors import ConfirmationMismatch
from realm.events import inbound, notify, outbox
from realm.events.outbox import OutboxTx
from realm.hosting import capacity, changes
from realm.logs import log
from realm.media import storage
from realm.people import users

from . import identity

SUBSCRIBER = "erase-account"
# Other people's notifications are deleted this many per round trip (Firestore's batch).
MENTIONS_BATCH = notify.FIRESTORE_BATCH_LIMIT
# A finished erasure's subject is kept while an event from before the deletion may still be
# delivered (notify-guest drops events older than REALM_EVENT_MAX_AGE_SECONDS), plus a margin.
_KEEP_MARGIN_SECONDS = 3600
_SWEEP_BATCH = 100

Step = Literal["photos", "feed", "mentions", "sign_in"]
STEPS: tuple[Step, ...] = ("photos", "feed", "mentions", "sign_in")


@dataclass(frozen=True)
class Deletion:
    erasure_id: int
    parties_cancelled: int
    invites_removed: int


# -- the request's transaction --------------------------------------------------------------


# What the app sends to say the person means it: typed, or a button's fixed text.
CONFIRMATION = "delete my account"


def check_confirmation(confirm: str) -> None:
    """``ConfirmationMismatch`` unless ``confirm`` is exactly ``CONFIRMATION``."""
    if confirm != CONFIRMATION:
        raise ConfirmationMismatch()


def delete(tx: OutboxTx, auth_uid: str) -> Deletion:
    """Deletes the caller's account from PostgreSQL, and writes the account-deleted event
    whose erasure does the rest."""
    # FOR UPDATE: whatever would add a row naming them (an invite, a device, a party) waits for
    # this transaction and then finds no user, instead of slipping in between its statements.
    me = users.id_for(tx, auth_uid, lock="FOR UPDATE")
    # Every party they host or are invited to, locked in id order and read in one statement,
    # as capacity.lock reads a party's row.
    parties = tx.all(
        f"SELECT {capacity.LOCKED_COLUMNS} FROM parties WHERE host_id = :me"
        " OR id IN (SELECT party_id FROM invites WHERE guest_id = :me)"
        " ORDER BY id FOR NO KEY UPDATE",
        me=me,
    )
    cancelled = removed = 0
    for party in parties:
        if party["host_id"] != me:
            removed += changes.drop_invite(tx, party, me) is not None
        elif capacity.is_open(party):
            # Told to the guests without the host's name: it is no longer ours to show.
            changes.announce_cancellation(tx, party, me, reason="host-left")
            cancelled += 1
    # Their parties go whole (invites, co-hosts, links, reminders follow by cascade).
    tx.execute("DELETE FROM parties WHERE host_id = :me", me=me)
    tx.execute("DELETE FROM party_hosts WHERE user_id = :me", me=me)
    tx.execute("DELETE FROM invite_links WHERE created_by = :me", me=me)
    tx.execute("DELETE FROM blocks WHERE blocker_id = :me OR blocked_id = :me", me=me)
    tx.execute("DELETE FROM devices WHERE user_id = :me", me=me)  # with push_deliveries
    tx.execute("DELETE FROM calendar_feeds WHERE user_id = :me", me=me)
    tx.execute(
        "DELETE FROM idempotency_keys WHERE subject = :subject",
        subject=quotas.subject_for(auth_uid),
    )
    tx.execute("UPDATE users SET photo_id = NULL WHERE id = :me", me=me)
    tx.execute("DELETE FROM photos WHERE owner_id = :me", me=me)
    mentions = _mentions(tx, me, auth_uid)
    _forget_events(tx, me)
    erasure_id = int(
        tx.scalar(
            "INSERT INTO account_erasures (subject, user_id, auth_uid)"
            " VALUES (:subject, :me, :uid) RETURNING id",
            subject=quotas.subject_for(auth_uid),
            me=me,
            uid=auth_uid,
        )
    )
    tx.execute(
        "INSERT INTO account_erasure_mentions (erasure_id, auth_uid, notification_id)"
        " SELECT :erasure, m.uid, m.id"
        " FROM unnest(CAST(:uids AS text[]), CAST(:ids AS text[])) AS m(uid, id)"
        " ON CONFLICT DO NOTHING",
        erasure=erasure_id,
        uids=[uid for uid, _ in mentions],
        ids=[notification_id for _, notification_id in mentions],
    )
    # Search terms, notification recipients and reminders follow the user by cascade.
    tx.execute("DELETE FROM users WHERE id = :me", me=me)
    outbox.add(tx, "account-deleted", {"erasure_id": erasure_id})
    return Deletion(erasure_id, cancelled, removed)


def _mentions(tx: Tx, me: int, auth_uid: str) -> list[tuple[str, str]]:
    """(recipient uid, notification id) of the notifications in other people's feeds whose
    text names the person: the events naming them in the field notify-guest shows the name of
    (``notify.NAMED_BY``), to the recipient in their data, or to the event's recipients."""
    rows = tx.all(
        "SELECT event_id, type, message -> 'data' AS data FROM outbox"
        " WHERE user_ids @> ARRAY[CAST(:me AS bigint)] AND type = ANY(CAST(:kinds AS text[]))",
        me=me,
        kinds=list(notify.NAMED_BY),
    )
    # A party-cancelled or cohost-added event written before migration 0031 has no host_id:
    # its user_ids hold only the party's host, who is then the person.
    naming = [row for row in rows if row["data"].get(notify.NAMED_BY[row["type"]], me) == me]
    found: set[tuple[str, str]] = set()
    told_by_rows: list[str] = []
    for row in naming:
        field = notify.RECIPIENT_FIELD.get(row["type"])
        if field is None:
            told_by_rows.append(str(row["event_id"]))
        elif isinstance(row["data"].get(field), str):
            found.add((row["data"][field], str(row["event_id"])))
    if told_by_rows:
        for row in tx.all(
            "SELECT u.auth_uid, r.event_id FROM notification_recipients r"
            " JOIN users u ON u.id = r.user_id"
            " WHERE r.event_id = ANY(CAST(:events AS uuid[]))",
            events=told_by_rows,
        ):
            found.add((str(row["auth_uid"]), str(row["event_id"])))
    # Their own feed goes whole (the erasure's feed step).
    return sorted(item for item in found if item[0] != auth_uid)


def _forget_events(tx: Tx, me: int) -> None:
    """The outbox rows that name the person: where they are only one of a list of recipients
    (a waitlist promotion), they are taken out of it; any other row is deleted. Published or
    not: a published row is history nobody reads, and a pending one would tell nobody anything
    any more (notify-guest drops an event for or naming a deleted account; make-thumbnail
    finds no photo)."""
    me_json = "to_jsonb(CAST(:me AS bigint))"
    named_by_field = " OR ".join(
        f"message -> 'data' -> '{field}' IS NOT DISTINCT FROM {me_json}"
        for field in outbox.USER_ID_FIELDS
    )
    for field in outbox.USER_ID_LISTS:
        tx.execute(
            "UPDATE outbox SET user_ids = array_remove(user_ids, CAST(:me AS bigint)),"
            f" message = jsonb_set(message, '{{data,{field}}}', ("
            "   SELECT COALESCE(jsonb_agg(item), '[]') FROM jsonb_array_elements("
            f"     message -> 'data' -> '{field}') AS item WHERE item <> {me_json}))"
            " WHERE user_ids @> ARRAY[CAST(:me AS bigint)]"
            f" AND message -> 'data' -> '{field}' @> {me_json} AND NOT ({named_by_field})",
            me=me,
        )
    tx.execute("DELETE FROM outbox WHERE user_ids @> ARRAY[CAST(:me AS bigint)]", me=me)


# -- the erasure (the account-deleted event) ------------------------------------------------

Outcome = Literal["erased", "duplicate", "malformed"]


@dataclass(frozen=True)
class Erasure:
    id: int
    user_id: int
    auth_uid: str
    requested_at: datetime
    done: frozenset[Step]


def _read(erasure_id: int) -> Erasure | None:
    """The erasure still to do; None when there is none (finished, or never ours)."""
    with db.reading() as tx:
        row = tx.one(
            "SELECT id, user_id, auth_uid, requested_at, photos_done_at, feed_done_at,"
            " mentions_done_at, sign_in_done_at FROM account_erasures"
            " WHERE id = :id AND finished_at IS NULL",
            id=erasure_id,
        )
    if row is None:
        return None
    done = frozenset(step for step in STEPS if row[f"{step}_done_at"] is not None)
    return Erasure(row["id"], row["user_id"], row["auth_uid"], row["requested_at"], done)


def _record(erasure_id: int, step: Step) -> None:
    assert step in STEPS
    with db.transaction() as tx:
        tx.execute(
            f"UPDATE account_erasures SET {step}_done_at = COALESCE({step}_done_at, now())"
            " WHERE id = :id",
            id=erasure_id,
        )


def _photos(erasure: Erasure, store: storage.MediaStore) -> None:
    store.delete_prefix(storage.user_prefix(erasure.user_id))


def _feed(erasure: Erasure, feed: notify.Feed) -> None:
    # Up to the deletion only: a new account of the same uid keeps what it has been told.
    feed.erase(erasure.auth_uid, erasure.requested_at)


def _others_feeds(erasure: Erasure, feed: notify.Feed) -> None:
    """Others' notifications naming the person, a batch at a time: each batch's rows go once
    its documents are deleted, so a redelivery starts at the first batch not done."""
    while True:
        with db.reading() as tx:
            rows = tx.all(
                "SELECT auth_uid, notification_id FROM account_erasure_mentions"
                " WHERE erasure_id = :id ORDER BY auth_uid, notification_id LIMIT :n",
                id=erasure.id,
                n=MENTIONS_BATCH,
            )
        if not rows:
            return
        items = [(str(row["auth_uid"]), str(row["notification_id"])) for row in rows]
        feed.delete(items)
        with db.transaction() as tx:
            tx.execute(
                "DELETE FROM account_erasure_mentions WHERE erasure_id = :id"
                " AND (auth_uid, notification_id) IN (SELECT * FROM unnest("
                " CAST(:uids AS text[]), CAST(:ids AS text[])))",
                id=erasure.id,
                uids=[uid for uid, _ in items],
                ids=[notification_id for _, notification_id in items],
            )


def _sign_in(erasure: Erasure, identities: identity.Identities) -> None:
    with db.reading() as tx:
        back = users.exists(tx, erasure.auth_uid)
    if back:
        # They signed up again, with the same sign-in, before this ran: deleting it now would
        # lock them out of the account they just made.
        log.warning("the uid signed up again: its sign-in account is kept")
        return
    identities.delete(erasure.auth_uid)


def _finish(erasure: Erasure) -> None:
    """Keeps only the subject and its time; sweeps erasures no late event can concern."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE account_erasures SET user_id = NULL, auth_uid = NULL, finished_at = now(),"
            " photos_done_at = NULL, feed_done_at = NULL, mentions_done_at = NULL,"
            " sign_in_done_at = NULL WHERE id = :id",
            id=erasure.id,
        )
        tx.execute(
            "DELETE FROM account_erasures WHERE id IN (SELECT id FROM account_erasures"
            " WHERE finished_at IS NOT NULL"
            " AND requested_at < now() - make_interval(secs => :keep) LIMIT :n)",
            keep=settings.event_max_age_seconds + _KEEP_MARGIN_SECONDS,
            n=_SWEEP_BATCH,
        )


def erase(
    erasure_id: int,
    *,
    store: storage.MediaStore | None = None,
    feed: notify.Feed | None = None,
    identities: identity.Identities | None = None,
) -> Outcome:
    """Does the steps of the erasure not yet done, each recorded once done. Raises what a
    dependency raises (the redelivery resumes at that step)."""
    erasure = _read(erasure_id)
    if erasure is None:
        return "duplicate"
    work: dict[Step, Any] = {
        "photos": lambda: _photos(erasure, store or storage.store()),
        "feed": lambda: _feed(erasure, feed or notify.default_feed()),
        "mentions": lambda: _others_feeds(erasure, feed or notify.default_feed()),
        "sign_in": lambda: _sign_in(erasure, identities or identity.default()),
    }
    seconds: dict[str, float] = {}
    for step in STEPS:
        if step not in erasure.done:
            started = time.perf_counter()
            work[step]()
            _record(erasure.id, step)
            seconds[step] = round(time.perf_counter() - started, 3)
    _finish(erasure)
    log.info("account erased", extra={"fields": {"erasure_id": erasure.id, "seconds": seconds}})
    return "erased"


def erasure_of(event: inbound.InboundEvent) -> int:
    """The erasure id an account-deleted event carries, or ``inbound.Unusable``."""
    if event.type != "account-deleted":
        raise inbound.Unusable(f"not an account-deleted event: {event.type!r}")
    erasure_id = event.data.get("erasure_id")
    if not isinstance(erasure_id, int) or isinstance(erasure_id, bool) or erasure_id < 1:
        raise inbound.Unusable("the account-deleted event has no valid erasure_id")
    return erasure_id


def handle(
    cloud_event: Any,
    *,
    store: storage.MediaStore | None = None,
    feed: notify.Feed | None = None,
    identities: identity.Identities | None = None,
) -> Outcome:
    """erase-account's work for one delivery. An unusable message is acknowledged; an old one
    is not dropped, unlike notify-guest's: an erasure is never too late to do."""
    with logs.bound(subscriber=SUBSCRIBER):
        try:
            event = inbound.decode(cloud_event)
            erasure_id = erasure_of(event)
        except inbound.Unusable as error:
            log.error("acknowledged an unusable account-deleted message: %s", error)
            return "malformed"
        with logs.bound(event_id=str(event.event_id), event_type=event.type):
            outcome = erase(erasure_id, store=store, feed=feed, identities=identities)
            if outcome == "duplicate":
                log.info("erasure %s already done (or unknown)", erasure_id)
            return outcome
