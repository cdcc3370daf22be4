"""The proof that a deleted account leaves nothing behind (DESIGN §13, issue 10).

Someone uses every part of the app — signs up with a photo and uploads another, hosts parties
(past and upcoming), co-hosts one, is invited, confirms with plus-ones, waits on a waitlist,
blocks and is blocked, makes invite links, registers devices, makes a calendar link, receives
notifications and pushes, sends idempotency keys and spends quotas — and others are told about
them. They delete their account, every event is delivered (notify-guest through the Firestore
emulator and the FCM stand-in, make-thumbnail and erase-account through the storage emulator,
the Firebase Auth emulator for the sign-in account), and then:

- no row of any table of the database holds them: every table and column, found in the
  catalogue, so that a table added later is covered without touching this test;
- no object of the bucket and no document of Firestore holds them;
- the Auth emulator has no account of their uid;
- the same uid signs up again and finds an empty profile, no parties, no notifications.

What counts as *holding* the person (``Traces``):

- text anywhere (a text, varchar or json(b) value, an array element, an object key or name, a
  document path or field) that contains, ignoring case, their uid, email, phone, handle,
  display name, a word of their display name, or the key prefix of their photos
  ``photos/<id>/``. The name's words are random letters, so no other text contains them;
- a user reference equal to their id: a column with a foreign key to ``users(id)`` (read from
  the catalogue), a column or JSON key named as users are named here (``user_id``,
  ``guest_id``, ``host_id``, ``owner_id``, ``blocker_id``, ``blocked_id``, ``created_by``,
  ``user_ids``, ``guest_ids``), or an element of such an array. A number equal to their id in
  any other column (a party's id, a count) is not about them;
- a bytea value equal to the SHA-256 of their uid, email or phone.

Not holding them, by design: the SHA-256 of the uid, as hex text, in ``quota_subjects`` and
``quota_spends`` (a quota must outlive the account, or deleting and signing up again would
reset it: realm.db.quotas) and in ``account_erasures.subject`` (kept for the days an old event
may still arrive, so that it is dropped: realm.events.erased). The test checks that the hash
is found there and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import string
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from realm import db
from realm.accounts import deletion, devices, identity
from realm.config import settings
from realm.db import quotas
from realm.devstack import auth_emulator as firebase_auth
from realm.devstack import emulators
from realm.devstack.fcm import StandInFcm
from realm.edge import idempotency
from realm.events import inbound, notify, outbox
from realm.events.notify import FirestoreFeed
from realm.events.publishing import PUSH_ROUTES
from realm.events.push import FcmSender, StandInToken
from realm.hosting import calendar, changes, cohosts, invites, parties
from realm.media import photos
from realm.media.storage import MediaStore
from realm.people import blocks, links, profile, users
from realm.people.users import id_for
from tests.helpers import AUTH_EMULATOR_PROJECT, add_invite, add_party, add_user, in_hours
from tests.photo_samples import jpeg
from tests.unit.test_notifications import pushed

pytestmark = pytest.mark.usefixtures("clean_db")

# Columns and JSON keys that name a user by id, beside the foreign keys to users(id).
USER_REFERENCE_NAMES = frozenset(
    {
        "user_id",
        "guest_id",
        "host_id",
        "owner_id",
        "blocker_id",
        "blocked_id",
        "created_by",
        "user_ids",
        "guest_ids",
    }
)
# Where the SHA-256 of the uid may stay, and why (see the module's docstring).
HASH_KEPT_IN = frozenset(
    {
        ("quota_subjects", "subject"),
        ("quota_spends", "subject"),
        ("account_erasures", "subject"),
    }
)


def random_word(length: int) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=length)).title()


class Traces:
    """What of a person a value may hold (see the module's docstring)."""

    def __init__(
        self, user_id: int, auth_uid: str, email: str, phone: str, handle: str, name: str
    ) -> None:
        self.user_id = user_id
        self.texts = {
            "uid": auth_uid,
            "email": email,
            "phone": phone,
            "handle": handle,
            "display name": name,
            "photo keys": f"photos/{user_id}/",
            **{f"name word {word}": word for word in name.split()},
        }
        self.uid_hash = quotas.subject_for(auth_uid)
        self.digests = {
            hashlib.sha256(value.encode()).digest() for value in (auth_uid, email, phone)
        }

    def in_text(self, text: str) -> list[str]:
        folded = text.casefold()
        return [what for what, value in self.texts.items() if value.casefold() in folded]

    def in_json(self, value: Any, key: str = "") -> list[str]:
        """Text anywhere in a JSON value (keys included), and user references by key."""
        if isinstance(value, dict):
            return [
                found
                for k, v in value.items()
                for found in self.in_text(str(k)) + self.in_json(v, str(k))
            ]
        if isinstance(value, list):
            return [found for item in value for found in self.in_json(item, key)]
        if isinstance(value, str):
            return self.in_text(value)
        if key in USER_REFERENCE_NAMES and value == self.user_id and not isinstance(value, bool):
            return [f"user reference {key}"]
        return []


# Tables that held them before the deletion, to show that the scan finds what it looks for.
WHERE_THEY_WERE = frozenset(
    {
        "users",
        "photos",
        "parties",
        "party_hosts",
        "invites",
        "invite_links",
        "blocks",
        "devices",
        "calendar_feeds",
        "idempotency_keys",
        "user_search_terms",
        "notification_recipients",
        "outbox",
    }
)


# -- the scans --------------------------------------------------------------------------------


def user_reference_columns(tx: db.Tx) -> set[tuple[str, str]]:
    """(table, column) of every foreign key to users(id), from the catalogue, and users.id."""
    rows = tx.all(
        "SELECT c.conrelid::regclass::text AS tbl, a.attname AS col"
        " FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
        " WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass"
    )
    return {(str(r["tbl"]), str(r["col"])) for r in rows} | {("users", "id")}


def scan_database(traces: Traces) -> tuple[list[str], set[tuple[str, str]]]:
    """Every value of every column of every table: (what holds the person, where the uid's
    hash is)."""
    found: list[str] = []
    hashed: set[tuple[str, str]] = set()
    with db.reading() as tx:
        references = user_reference_columns(tx)
        tables = [
            str(r["table_name"])
            for r in tx.all(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                " ORDER BY table_name"
            )
        ]
        assert {"users", "outbox", "account_erasures", "devices"} <= set(tables)
        for table in tables:
            for row in tx.all(f'SELECT * FROM "{table}"'):
                for column, value in row.items():
                    where = f"{table}.{column}"
                    if isinstance(value, str) and traces.uid_hash in value:
                        hashed.add((table, column))
                    is_reference = (table, column) in references or column in USER_REFERENCE_NAMES
                    if is_reference and (
                        value == traces.user_id
                        or (isinstance(value, list) and traces.user_id in value)
                    ):
                        found.append(f"{where}: user reference {value}")
                    elif isinstance(value, bytes | memoryview):
                        if bytes(value) in traces.digests:
                            found.append(f"{where}: a digest of their uid, email or phone")
                    elif isinstance(value, dict | list):
                        found += [f"{where}: {what}" for what in traces.in_json(value)]
                    elif isinstance(value, str):
                        found += [f"{where}: {what}" for what in traces.in_text(value)]
    return found, hashed


def scan_bucket(store: MediaStore, traces: Traces) -> list[str]:
    return [f"object {key}: {what}" for key in store.keys("") for what in traces.in_text(key)]


def all_documents(feed: FirestoreFeed) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Every document of the emulator's database, by walking every collection, at any
    depth (a document that does not exist but has subcollections comes with None)."""
    pending = list(feed._client.collections())
    while pending:
        collection = pending.pop()
        for reference in collection.list_documents():
            snapshot = reference.get()
            yield reference.path, snapshot.to_dict() if snapshot.exists else None
            pending.extend(reference.collections())


def scan_firestore(feed: FirestoreFeed, traces: Traces) -> tuple[list[str], int]:
    found, count = [], 0
    for path, document in all_documents(feed):
        count += 1
        found += [f"document {path}: {what}" for what in traces.in_text(path)]
        found += [
            f"document {path}: {what}"
            for what in traces.in_json(json.loads(json.dumps(document, default=str)))
        ]
    return found, count


# -- a full life in the app ------------------------------------------------------------------


class Stack:
    """The emulators and stand-ins every event goes through, and the delivery of the events
    waiting in the outbox, each to the function its topic feeds (PUSH_ROUTES)."""

    def __init__(
        self,
        bucket: MediaStore,
        feed: FirestoreFeed,
        fcm: StandInFcm,
        toolkit: identity.IdentityToolkit,
    ) -> None:
        self.bucket, self.feed, self.toolkit, self.fcm = bucket, feed, toolkit, fcm
        self.sender = FcmSender(fcm.url, settings.project_id, StandInToken())
        self.delivered: set[str] = set()

    def deliver_everything(self) -> list[str]:
        with db.reading() as tx:
            rows = tx.all("SELECT event_id, type, message FROM outbox ORDER BY id")
        handled = []
        for row in rows:
            if str(row["event_id"]) in self.delivered:
                continue
            message, route = row["message"], PUSH_ROUTES[row["type"]]
            if route == "notify-guest":
                notify.handle(pushed(message), self.feed, self.sender)
            elif route == "make-thumbnail":
                event = photos.photo_uploaded(inbound.decode(pushed(message)))
                photos.handle_uploaded(event, self.bucket)
            else:
                assert route == "erase-account"
                deletion.handle(
                    pushed(message), store=self.bucket, feed=self.feed, identities=self.toolkit
                )
            self.delivered.add(str(row["event_id"]))
            handled.append(str(row["type"]))
        return handled


def a_full_life(stack: Stack, auth_emulator: Any) -> Traces:
    uid = f"leaving-{uuid.uuid4().hex[:10]}"
    name = f"{random_word(7)} {random_word(9)}"
    email, phone = f"{uid}@example.test", "+4915" + "".join(random.choices(string.digits, k=8))
    password = secrets.token_urlsafe(12)  # made here, never kept
    firebase_auth.seed(auth_emulator.host, AUTH_EMULATOR_PROJECT, [(uid, name, email)], password)

    me = profile.sign_up(uid, name, email, phone, photos.accept(jpeg()), stack.bucket)
    profile.set_photo(uid, photos.accept(jpeg((320, 240))), stack.bucket)
    # The signup's answer, kept under an idempotency key as the edge keeps it.
    idempotency.once(uid, "key-1", "print", lambda: (201, json.dumps({"email": email})))
    uid_of = {n: f"{n}-{uuid.uuid4().hex[:6]}" for n in ["host", "friend", "blocker", "blocked"]}
    with outbox.transaction() as tx:
        other = {n: add_user(tx, uid_of[n], n.title()) for n in uid_of}

    with outbox.transaction() as tx:  # their own parties
        upcoming = parties.create(
            tx,
            uid,
            flat="MYFLAT",
            first_entry=in_hours(30),
            title=None,
            description=None,
            capacity=None,
        ).id
        invites.create(tx, uid, party_id=upcoming, guest_id=other["friend"])
        cohosts.add(tx, uid, upcoming, other["blocked"])
        links.create(tx, uid, party_id=upcoming, expires_at=None, max_uses=None)
        add_invite(tx, add_party(tx, me.id, in_hours(-72), flat="OLDFLAT"), other["friend"])
        called_off = add_party(tx, me.id, in_hours(50), flat="OFFFLAT")
        add_invite(tx, called_off, other["friend"], "confirmed")
        changes.cancel(tx, uid, called_off)
    with outbox.transaction() as tx:  # someone else's: co-hosting, coming with one, waiting
        cohosted = add_party(tx, other["host"], in_hours(40))
        cohosts.add(tx, uid_of["host"], cohosted, me.id)
        links.create(tx, uid, party_id=cohosted, expires_at=None, max_uses=None)
        attending = add_party(tx, other["host"], in_hours(44), capacity=3, max_plus_ones=2)
        full = add_party(tx, other["host"], in_hours(48), capacity=1)
        add_invite(tx, full, other["friend"], "confirmed")
        for party in (attending, full):
            invites.create(tx, uid_of["host"], party_id=party, guest_id=me.id)
    with outbox.transaction() as tx:
        invites.respond(tx, uid_of["friend"], party_id=upcoming, response="confirmed")
        invites.respond(tx, uid, party_id=attending, response="confirmed", plus_ones=1)
        assert invites.respond(tx, uid, party_id=full, response="confirmed").status == (
            "waitlisted"
        )
        blocks.block(tx, uid, other["blocked"])
        blocks.block(tx, uid_of["blocker"], me.id)
        devices.register(tx, uid, f"phone-{uuid.uuid4().hex}", "ios")
        devices.register(tx, uid, f"tablet-{uuid.uuid4().hex}", "android")
        calendar.new_link(tx, uid)

    handled = stack.deliver_everything()
    assert {"photo-uploaded", "invite-created", "invite-responded", "cohost-added"} <= set(handled)
    told = {item["type"] for item in stack.feed.recent(uid, 100)}
    assert told == {"invite-created", "cohost-added", "invite-responded"}, told
    assert stack.fcm.received(), "and pushed to their devices"
    assert len(stack.bucket.keys(f"photos/{me.id}/")) == 8, "two originals, six thumbnails"
    return Traces(me.id, uid, email, phone, me.handle, name)


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture
def stack(bucket: MediaStore, firestore_emulator: Any, auth_emulator: Any) -> Iterator[Stack]:
    emulators.firestore_reset(firestore_emulator.host, settings.project_id)
    fcm = StandInFcm().start()
    toolkit = identity.IdentityToolkit(
        f"http://{auth_emulator.host}/identitytoolkit.googleapis.com",
        AUTH_EMULATOR_PROJECT,
        identity.EmulatorOwner(),
    )
    try:
        yield Stack(bucket, FirestoreFeed(settings.project_id), fcm, toolkit)
    finally:
        fcm.stop()


def test_after_a_deletion_nothing_anywhere_holds_the_person_and_they_can_start_again(
    stack: Stack, auth_emulator: Any
) -> None:
    traces = a_full_life(stack, auth_emulator)
    uid = traces.texts["uid"]
    before, _ = scan_database(traces)
    assert {found.split(".")[0] for found in before} >= WHERE_THEY_WERE, "the scan sees them"

    with outbox.transaction() as tx:
        deletion.delete(tx, uid)
    handled = stack.deliver_everything()

    assert {"account-deleted", "party-cancelled"} <= set(handled)
    in_database, hashed = scan_database(traces)
    assert in_database == []
    assert hashed == HASH_KEPT_IN, "the uid's hash, where it is kept by design, and only there"
    assert scan_bucket(stack.bucket, traces) == []
    in_firestore, documents = scan_firestore(stack.feed, traces)
    assert in_firestore == []
    assert documents > 0, "the others' notifications are still there"
    assert firebase_auth.lookup(auth_emulator.host, AUTH_EMULATOR_PROJECT, uid) is None

    # The same uid signs up again (its token is still valid for the hour) and starts clean.
    again = profile.sign_up(uid, "Someone New", f"new-{uid}@example.test", None, None)
    with db.reading() as tx:
        me = users.me(tx, uid)
        lists = {
            view: parties.list_for(tx, uid, view, limit=10, cursor=None).parties
            for view in ("invited", "confirmed", "hosting")
        }
        assert id_for(tx, uid) == again.id != traces.user_id
    assert (me.photo, me.is_host, me.phone) == (None, False, None)
    assert lists == {"invited": [], "confirmed": [], "hosting": []}
    assert stack.feed.recent(uid, 100) == []
