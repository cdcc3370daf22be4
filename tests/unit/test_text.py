"""The rules for text people type: names, flats, titles, descriptions."""

from __future__ import annotations

import unicodedata

import pytest

from realm import text


@pytest.mark.parametrize(
    "bad",
    [
        "\u200b\u200c\u200d\ufeff",  # only zero-width characters
        "\u202e\u2066\u2069",  # only bidi controls
        "FLAT\u202eevil",  # a right-to-left override inside
        "before\u2067after",  # an isolate inside
        "tab\tinside",
        "nul\x00inside",
        "bell\x07",
        "two\u2028lines",
        "\ud800",  # a lone surrogate
        "\u3164\u3164",  # Hangul fillers render as nothing
        "\u0301\u0301",  # only combining marks
    ],
)
def test_a_line_refuses_what_hides_or_reorders_text(bad: str) -> None:
    with pytest.raises(ValueError, match="must"):
        text.line(bad)


@pytest.mark.parametrize(
    "good",
    [
        "FUTUREPARTY1",
        "Zoë",
        "Ångström",
        "José's flat",
        "👨\u200d👩\u200d👧 family",
        "日本語",
        "עברית",
    ],
)
def test_a_line_keeps_ordinary_text_in_any_script(good: str) -> None:
    assert text.line(good) == unicodedata.normalize("NFC", good)


def test_a_line_is_normalised_to_nfc_and_stripped() -> None:
    decomposed = "  Zoe\u0308  "

    assert text.line(decomposed) == "Zoë"


def test_paragraphs_keep_line_breaks_but_no_other_control_characters() -> None:
    assert text.paragraphs("Bring snacks.\r\nDoor code 1234.") == "Bring snacks.\nDoor code 1234."
    with pytest.raises(ValueError, match="control"):
        text.paragraphs("tab\tinside")
    with pytest.raises(ValueError, match="visible"):
        text.paragraphs("\u200b\n\u200b")
