"""Per-user write quotas, counted in PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from realm import db, errors
from realm.db import quotas
from tests.helpers import uid


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, clean_db: None) -> str:
    """A quota of 5 parties an hour, for the test."""
    monkeypatch.setitem(quotas.QUOTAS, "parties", quotas.Quota("parties", 5, 3600))
    return "parties"


def _spend(auth_uid: str, amount: int = 1) -> None:
    with db.transaction() as tx:
        quotas.spend(tx, auth_uid, "parties", amount)


def _used(auth_uid: str) -> int:
    with db.transaction() as tx:
        return int(
            tx.scalar(
                "SELECT COALESCE(sum(amount), 0) FROM quota_spends WHERE subject = :s",
                s=quotas.subject_for(auth_uid),
            )
        )


def test_spends_up_to_the_limit_pass_and_the_next_is_refused_with_a_wait(small: str) -> None:
    caller = uid()
    for _ in range(5):
        _spend(caller)

    with pytest.raises(errors.RateLimited) as refused:
        _spend(caller)

    assert 3590 <= refused.value.retry_after <= 3600
    assert _used(caller) == 5, "a refused spend counts nothing"


def test_the_wait_is_until_the_oldest_spends_leave_the_window(small: str) -> None:
    caller = uid()
    _spend(caller, 3)
    with db.transaction() as tx:
        tx.execute(
            "UPDATE quota_spends SET spent_at = now() - interval '50 minutes' WHERE subject = :s",
            s=quotas.subject_for(caller),
        )
    _spend(caller, 2)

    with pytest.raises(errors.RateLimited) as refused:
        _spend(caller)

    assert 590 <= refused.value.retry_after <= 600, "the 3 old spends free room in 10 minutes"


def test_spends_older_than_the_period_no_longer_count(small: str) -> None:
    caller = uid()
    _spend(caller, 5)
    with db.transaction() as tx:
        tx.execute(
            "UPDATE quota_spends SET spent_at = now() - interval '61 minutes' WHERE subject = :s",
            s=quotas.subject_for(caller),
        )
        tx.execute(
            "UPDATE quota_subjects SET swept_at = now() - interval '2 hours' WHERE subject = :s",
            s=quotas.subject_for(caller),
        )

    _spend(caller)

    assert _used(caller) == 1, "the expired spends were swept away"


def test_a_write_that_rolls_back_spends_nothing(small: str) -> None:
    caller = uid()

    def write_that_fails() -> None:
        with db.transaction() as tx:
            quotas.spend(tx, caller, "parties", 5)
            raise RuntimeError("the write failed after the spend")

    with pytest.raises(RuntimeError):
        write_that_fails()

    _spend(caller, 5)
    assert _used(caller) == 5


def test_each_caller_has_their_own_quota(small: str) -> None:
    first, second = uid(), uid()
    _spend(first, 5)

    _spend(second, 5)

    with pytest.raises(errors.RateLimited):
        _spend(first)


def test_twenty_concurrent_spends_of_one_caller_pass_exactly_five_times(small: str) -> None:
    caller = uid()
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        try:
            _spend(caller)
            outcome = "spent"
        except errors.RateLimited:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * 15 + ["spent"] * 5
    assert _used(caller) == 5


def test_the_uid_itself_is_never_stored(small: str) -> None:
    caller = uid()
    _spend(caller)

    with db.transaction() as tx:
        stored = tx.all(
            "SELECT subject FROM quota_subjects UNION ALL SELECT subject FROM quota_spends"
        )

    assert stored
    assert all(caller not in row["subject"] for row in stored)


def test_more_than_the_whole_quota_at_once_is_refused(small: str) -> None:
    with pytest.raises(errors.RateLimited):
        _spend(uid(), 6)
