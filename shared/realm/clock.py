"""The app's time rules, as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

# The rule of the app: the door closes twelve hours after it opens.
ENTRY_WINDOW = timedelta(hours=12)
# How far ahead a party may be planned.
PLANNING_HORIZON = timedelta(days=2 * 365)


def last_entry(first_entry: datetime) -> datetime:
    return first_entry + ENTRY_WINDOW


def is_over(first_entry: datetime, now: datetime) -> bool:
    """A party is over once its last entry has passed; until then it is upcoming."""
    return last_entry(first_entry) <= now
