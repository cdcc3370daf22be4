"""What counts as acceptable text in names, flats, titles and descriptions.

Text that people type ends up on other people's screens and in their notifications, so it is
held to more than "valid JSON": it is normalised to NFC (so ``é`` typed two ways is one string,
and uniqueness and search see one form), and refused when it carries control characters,
bidirectional overrides or isolates (which reorder what follows them on screen: the classic
spoofing trick), lone surrogates (which PostgreSQL cannot store), or nothing visible at all
(a name of zero-width spaces). Joiners inside emoji and scripts that need them stay allowed.

These are plain functions raising ``ValueError`` so that pydantic reports them as a 422 naming
the field (``realm.edge.api_models``), and so that the domain can apply the same rules to text it
makes itself (a handle generated from a display name).
"""

from __future__ import annotations

import unicodedata

# LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that render as nothing (Hangul fillers, the blank Braille pattern).
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Line breaks a paragraph may hold; nothing else below U+0020.
_PARAGRAPH_BREAKS = frozenset("\n")


def _check(value: str, allowed_controls: frozenset[str]) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    visible = False
    for char in value:
        category = unicodedata.category(char)
        if char in _BIDI_CONTROLS:
            raise ValueError("must not contain bidirectional override or isolate characters")
        if category == "Cs":
            raise ValueError("must be valid Unicode (no lone surrogates)")
        if category == "Cc" and char not in allowed_controls:
            raise ValueError("must not contain control characters")
        if category in ("Zl", "Zp") and not allowed_controls:
            raise ValueError("must be a single line")
        if not visible and not (
            category in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me") or char in _BLANK_GLYPHS
        ):
            visible = True
    if value and not visible:
        raise ValueError("must contain visible characters")
    return value


def line(value: str) -> str:
    """A single line of text (a name, a flat, a title), normalised; ValueError if unacceptable."""
    return _check(value, frozenset())


def paragraphs(value: str) -> str:
    """Text that may span lines (a description): line breaks allowed, other controls not.
    Windows line ends become ``\\n``."""
    return _check(value.replace("\r\n", "\n"), _PARAGRAPH_BREAKS)
