"""Handles: their shape, and the ones a display name suggests."""

from __future__ import annotations

import itertools

import pytest

from realm.people import handles


@pytest.mark.parametrize(
    ("typed", "stored"), [("Zoe.M", "zoe.m"), ("  host_1 ", "host_1"), ("a" * 30, "a" * 30)]
)
def test_a_typed_handle_is_stored_in_lower_case(typed: str, stored: str) -> None:
    assert handles.canonical(typed) == stored


@pytest.mark.parametrize(
    "bad", ["zo", "a" * 31, "zoe m", "zoë", "zoe🎉", "___", "...", "zoe-m", "a" * 500, ""]
)
def test_a_handle_of_the_wrong_shape_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="3 to 30"):
        handles.canonical(bad)


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("Zoë Smith", "zoesmith"),
        ("Ångström", "angstrom"),
        ("Host 1", "host1"),
        ("日本語", "user"),
        ("Al", "aluser"),
        ("A very long display name indeed, longer than thirty", "averylongdisplaynamein"),
    ],
)
def test_a_display_name_suggests_a_handle_of_its_letters_and_digits(name: str, base: str) -> None:
    assert handles.base_for(name) == base
    assert handles.canonical(base) == base


def test_taken_handles_are_followed_by_ever_longer_numbered_ones_without_end() -> None:
    tried = list(itertools.islice(handles.candidates("Zoë"), 20))

    assert tried[0] == "zoe"
    assert all(t.startswith("zoe") and t[3:].isdigit() for t in tried[1:])
    assert len(tried[-1]) == len("zoe") + 8
    assert all(handles.canonical(t) == t for t in tried)
