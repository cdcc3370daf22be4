"""match-contacts against PostgreSQL: who is found, what it costs, and that the numbers leave
no trace in the logs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from realm import db, errors
from realm.db import Tx, quotas
from realm.devstack import server
from realm.people import contacts
from tests.helpers import add_user, token, uid


def with_phone(tx: Tx, auth_uid: str, phone: str, discoverable: bool = True) -> int:
    user_id = add_user(tx, auth_uid)
    tx.execute(
        "UPDATE users SET phone = :phone, discoverable_by_phone = :d WHERE id = :id",
        phone=phone,
        d=discoverable,
        id=user_id,
    )
    return user_id


def _spent(auth_uid: str, tx: Tx) -> int:
    return int(
        tx.scalar(
            "SELECT COALESCE(sum(amount), 0) FROM quota_spends"
            " WHERE subject = :s AND action = 'contacts'",
            s=quotas.subject_for(auth_uid),
        )
    )


def test_only_users_who_chose_to_be_found_are_found(tx: Tx) -> None:
    add_user(tx, "uid-me")
    with_phone(tx, "uid-open", "+4915100000001")
    with_phone(tx, "uid-shy", "+4915100000002", discoverable=False)

    found = contacts.match(tx, "uid-me", ["+4915100000001", "+4915100000002", "+4915100000003"])

    assert [(m.handle, m.phone) for m in found] == [("uid_open", "+4915100000001")]


def test_the_caller_and_anyone_across_a_block_are_never_found(tx: Tx) -> None:
    me = with_phone(tx, "uid-me", "+4915100000009")
    blocked = with_phone(tx, "uid-blocked", "+4915100000001")
    blocker = with_phone(tx, "uid-blocker", "+4915100000002")
    with_phone(tx, "uid-friend", "+4915100000003")
    tx.execute(
        "INSERT INTO blocks VALUES (:me, :blocked), (:blocker, :me)",
        me=me,
        blocked=blocked,
        blocker=blocker,
    )

    found = contacts.match(tx, "uid-me", [f"+491510000000{n}" for n in (1, 2, 3, 9)])

    assert [m.handle for m in found] == ["uid_friend"]


def test_each_distinct_number_costs_one_of_the_daily_quota(tx: Tx) -> None:
    add_user(tx, "uid-me")

    contacts.match(tx, "uid-me", ["+4915100000001", "+4915100000001", "+4915100000002"])

    assert _spent("uid-me", tx) == 2


def test_over_the_quota_nothing_is_looked_up(tx: Tx, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(quotas.QUOTAS, "contacts", quotas.Quota("contacts", 3, quotas.DAY))
    add_user(tx, "uid-me")
    with_phone(tx, "uid-open", "+4915100000001")
    contacts.match(tx, "uid-me", ["+4915100000005", "+4915100000006"])

    with pytest.raises(errors.RateLimited) as refused:
        contacts.match(tx, "uid-me", ["+4915100000001", "+4915100000007"])

    assert 86_000 < refused.value.retry_after <= 86_400


def test_concurrent_calls_together_never_spend_past_the_quota(
    clean_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(quotas.QUOTAS, "contacts", quotas.Quota("contacts", 2000, quotas.DAY))
    caller = uid()
    with db.transaction() as tx:
        add_user(tx, caller)
    start, outcomes = threading.Barrier(4), []

    def call(n: int) -> None:
        numbers = [f"+49151{n}{i:07d}" for i in range(600)]
        start.wait()
        try:
            with db.transaction() as tx:
                contacts.match(tx, caller, numbers)
            outcomes.append("ok")
        except errors.RateLimited:
            outcomes.append("429")

    threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["429", "ok", "ok", "ok"]
    with db.transaction() as tx:
        assert _spent(caller, tx) == 1800


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger of this process emits (realm's logger does not propagate)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("realm")]
    for logger in loggers:
        logger.addHandler(keep)
    yield records
    for logger in loggers:
        logger.removeHandler(keep)


def _function(folder: str) -> Any:
    """A function's entry point, loaded as Cloud Functions loads it (its main.py)."""
    return getattr(server.function_module(folder), folder)


def test_a_call_logs_none_of_the_numbers_it_was_sent(
    clean_db: None, every_log_record: list[logging.LogRecord]
) -> None:
    caller = uid()
    with db.transaction() as tx:
        add_user(tx, caller)
        with_phone(tx, uid(), "+4915177700001")
    sent = ["+49 151 777 00001", "+4915177700002", "+1 (555) 777-0003", "not a number 7770004"]
    match_contacts = _function("match_contacts")

    statuses = []
    for phones in (sent[:3], sent):  # found, then refused for the malformed one
        request = Request(
            EnvironBuilder(
                path="/",
                method="POST",
                json={"phones": phones},
                headers=[("Authorization", f"Bearer {token(caller)}")],
            ).get_environ()
        )
        statuses.append(match_contacts(request).status_code)

    assert statuses == [200, 422]
    logged = "\n".join(
        record.getMessage() + json.dumps(getattr(record, "fields", None), default=str)
        for record in every_log_record
    )
    assert len(every_log_record) == 2, "each request was logged, as every request is"
    for digits in ("77700001", "77700002", "7770003", "7770004"):
        assert digits not in logged.replace(" ", "").replace("-", "")


def test_the_seeds_guests_are_found_by_their_numbers_and_its_hosts_by_their_names(
    clean_db: None,
) -> None:
    from realm.devstack import seed
    from realm.people import search

    with db.transaction() as tx:
        seed.seed(tx)
        found = contacts.match(tx, "host-1", [seed.phone_of(20) or "", seed.phone_of(21) or ""])
        hosts = search.find(tx, "guest-1", "host", limit=10)

    assert [m.handle for m in found] == ["guest1", "guest2"]
    assert [u.handle for u in hosts.users] == [f"host{n}" for n in range(1, 6)]
