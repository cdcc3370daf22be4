"""The capacity rules on their own: heads, the waitlist, plus-ones."""

from __future__ import annotations

import pytest

from realm.errors import TooManyPlusOnes
from realm.hosting import capacity


def test_without_a_capacity_everyone_fits() -> None:
    assert capacity.fits(10_000, None, 11)
    assert capacity.admit(10_000, None, 11, anyone_waiting=False) == "confirmed"


def test_a_confirmation_that_fits_exactly_is_confirmed() -> None:
    assert capacity.admit(8, 10, 2, anyone_waiting=False) == "confirmed"


def test_a_confirmation_one_head_over_capacity_waits() -> None:
    assert capacity.admit(8, 10, 3, anyone_waiting=False) == "waitlisted"


def test_nobody_jumps_the_queue_even_when_they_would_fit() -> None:
    assert capacity.admit(5, 10, 1, anyone_waiting=True) == "waitlisted"


def test_a_lowered_capacity_admits_nobody_until_heads_are_below_it() -> None:
    assert capacity.admit(12, 10, 1, anyone_waiting=False) == "waitlisted"
    assert capacity.promotable(12, 10, [1, 1]) == 0


def test_the_waitlist_is_promoted_in_order_while_the_first_one_waiting_fits() -> None:
    assert capacity.promotable(7, 10, [1, 2, 1]) == 2
    assert capacity.promotable(7, 10, [1, 1, 1, 1]) == 3


def test_a_large_group_at_the_front_is_not_skipped_for_a_smaller_one_behind_it() -> None:
    assert capacity.promotable(8, 10, [3, 1]) == 0


def test_a_removed_capacity_promotes_everyone_waiting() -> None:
    assert capacity.promotable(50, None, [1, 11, 3]) == 3


def test_an_empty_waitlist_promotes_nobody() -> None:
    assert capacity.promotable(0, 10, []) == 0


def test_plus_ones_not_asked_for_keep_what_a_coming_guest_had() -> None:
    assert capacity.plus_ones_for(None, 2, "confirmed", 3) == 2
    assert capacity.plus_ones_for(None, 2, "waitlisted", 3) == 2
    assert capacity.plus_ones_for(None, 0, "declined", 3) == 0


def test_plus_ones_over_the_allowance_are_refused() -> None:
    with pytest.raises(TooManyPlusOnes):
        capacity.plus_ones_for(2, 0, "invited", 1)
    assert capacity.plus_ones_for(1, 0, "invited", 1) == 1


def test_a_lowered_allowance_takes_no_plus_ones_away_but_allows_no_more() -> None:
    assert capacity.plus_ones_for(3, 3, "confirmed", 1) == 3
    assert capacity.plus_ones_for(None, 3, "confirmed", 1) == 3
    with pytest.raises(TooManyPlusOnes):
        capacity.plus_ones_for(4, 3, "confirmed", 1)
    with pytest.raises(TooManyPlusOnes):
        capacity.plus_ones_for(3, 3, "declined", 1)
