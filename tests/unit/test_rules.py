from datetime import UTC, datetime, timedelta

import pytest

from realm import clock, cursors, errors

T = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)


def test_last_entry_is_twelve_hours_after_first_entry() -> None:
    assert clock.last_entry(T) == datetime(2026, 5, 2, 8, 0, tzinfo=UTC)


def test_a_party_is_upcoming_until_its_last_entry() -> None:
    assert not clock.is_over(T, T + timedelta(hours=6))
    assert not clock.is_over(T, T + timedelta(hours=11, minutes=59))
    assert clock.is_over(T, T + timedelta(hours=12))


def test_a_cursor_round_trips_its_position() -> None:
    moment = datetime(2026, 5, 1, 20, 0, 0, 123456, tzinfo=UTC)
    assert cursors.decode(cursors.encode(moment, 41)) == (moment, 41)


def test_cursors_of_parties_sharing_a_start_time_differ() -> None:
    assert cursors.encode(T, 1) != cursors.encode(T, 2)


@pytest.mark.parametrize(
    "bad", ["", "!!!", "bm90LWEtY3Vyc29y", "MTIzLg", "MTIzLjA", "YWJjLjEy", "MTIzLjEyLjM", "é"]
)
def test_a_cursor_the_api_did_not_give_out_is_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidCursor):
        cursors.decode(bad)
