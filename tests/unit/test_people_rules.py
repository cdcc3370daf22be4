"""The pure rules of the people functions: phone numbers, search cursors, link URLs."""

from __future__ import annotations

import base64
import json

import pytest

from realm.config import ConfigError, load
from realm.errors import InvalidCursor
from realm.people import phones, search


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+4915112345678", "+4915112345678"),
        (" +49 151 1234 5678 ", "+4915112345678"),
        ("+49 (0)151 123-45678", "+4915112345678"),
        ("+49(0)15112345678", "+4915112345678"),
        ("+1 (555) 010-0000", "+15550100000"),
        ("+44 20.7946.0000", "+442079460000"),
        ("+33 6/12/34/56/78", "+33612345678"),
        ("+49\u00a0151\u202f12345678", "+4915112345678"),
    ],
)
def test_a_number_with_its_country_code_is_made_e164_whatever_its_formatting(
    typed: str, e164: str
) -> None:
    assert phones.normalize(typed) == e164


@pytest.mark.parametrize(
    "typed",
    [
        "015112345678",  # national: which country?
        "0049 151 12345678",  # an international prefix, not a '+'
        "+0 151 12345678",  # no country code starts with 0
        "+49 151 CALLME",
        "+49 151 1234 5678 ext 12",
        "+1 23",  # too short
        "+1 234 567 890 123 456",  # too long
        "+49 \u0661\u0665\u0661 12345678",  # digits of another script
        "++4915112345678",
        "",
    ],
)
def test_anything_else_is_refused_without_repeating_the_number(typed: str) -> None:
    with pytest.raises(ValueError, match="international number") as refused:
        phones.normalize(typed)

    digits = "".join(c for c in typed if c.isdigit())
    assert not digits or digits not in str(refused.value)


def test_a_search_cursor_reads_back_as_it_was_written() -> None:
    for key in [("zoë", 1, 1234), ("山田", 0, 2**62), (None, -1, 0)]:
        assert search.decode_cursor(search.encode_cursor(*key)) == key


@pytest.mark.parametrize(
    "cursor", ["", "!!!", "bnVsbA", "WyJhIiwwXQ", "WyJhIiwtMSwxXQ", "WyJhIiwwLDBd"]
)
def test_a_cursor_that_was_not_written_by_the_api_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        search.decode_cursor(cursor)


@pytest.mark.parametrize("term", ["\ud800", "a\x00b"], ids=["lone-surrogate", "nul"])
def test_a_cursor_whose_term_postgresql_could_not_take_is_refused(term: str) -> None:
    raw = json.dumps([term, 0, 1])  # what a caller can forge: JSON escapes both
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    with pytest.raises(InvalidCursor):
        search.decode_cursor(cursor)


def test_several_words_are_told_apart_from_one() -> None:
    assert not search.several_words("  zoë  ")
    assert search.several_words("zoë smith")


def test_invite_links_default_to_the_apps_own_scheme_and_take_any_absolute_base() -> None:
    assert load({}).invite_link_base_url == "realm://join"
    custom = {"REALM_INVITE_LINK_BASE_URL": "https://realm.example/join/"}
    assert load(custom).invite_link_base_url == "https://realm.example/join"


@pytest.mark.parametrize("base", ["join", "https://x/join?t=", "https://x/#join", "/join"])
def test_an_invite_link_base_that_is_not_an_absolute_url_is_refused(base: str) -> None:
    with pytest.raises(ConfigError, match="REALM_INVITE_LINK_BASE_URL"):
        load({"REALM_INVITE_LINK_BASE_URL": base})
