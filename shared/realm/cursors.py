"""Opaque pagination cursors: the (first_entry, party id) of the last row a page showed.

Keyset pagination on that pair stays correct when parties share a start time, and stays an
index range scan however deep the caller pages.

Every cursor of the API is text in URL-safe base64 without padding: :func:`pack_text` and
:func:`unpack_text` (the guest list's and find-users' cursors use them too).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from realm.errors import InvalidCursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1


def pack_text(text: str) -> str:
    """``text`` as an opaque cursor: its UTF-8 in URL-safe base64, without the padding."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unpack_text(cursor: str, encoding: str = "utf-8") -> str:
    """The text :func:`pack_text` made ``cursor`` of. Raises what base64 and decoding raise
    for anything else (``binascii.Error``, ``UnicodeDecodeError``, ``ValueError``): each
    decoder turns those, and its own checks of the text, into ``InvalidCursor``."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(encoding)


def encode(first_entry: datetime, party_id: int) -> str:
    micros = (first_entry - _EPOCH) // timedelta(microseconds=1)
    return pack_text(f"{micros}.{party_id}")


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        text = unpack_text(cursor, "ascii")
        micros_text, id_text = text.split(".")
        micros, party_id = int(micros_text), int(id_text)
        if not 0 < party_id <= _MAX_ID or not micros_text.lstrip("-").isdigit():
            raise ValueError(text)
        return _EPOCH + timedelta(microseconds=micros), party_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidCursor() from None


def encode_named(name: str, number: int) -> str:
    """A cursor over (a short name, a number): the guest list's (status, answer order)."""
    return pack_text(f"{name}.{number}")


def decode_named(cursor: str, names: frozenset[str]) -> tuple[str, int]:
    """The (name, number) of ``encode_named``; ``InvalidCursor`` unless the name is one of
    ``names`` and the number a positive 64-bit integer."""
    try:
        text = unpack_text(cursor, "ascii")
        name, number_text = text.split(".")
        number = int(number_text)
        if name not in names or not number_text.isdigit() or not 0 < number <= _MAX_ID:
            raise ValueError(text)
        return name, number
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
