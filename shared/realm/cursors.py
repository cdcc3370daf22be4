"""Opaque pagination cursors: the (first_entry, party id) of the last row a page showed.

Keyset pagination on that pair stays correct when parties share a start time, and stays an
index range scan however deep the caller pages.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from realm.errors import InvalidCursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1


def encode(first_entry: datetime, party_id: int) -> str:
    micros = (first_entry - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{party_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros_text, id_text = text.split(".")
        micros, party_id = int(micros_text), int(id_text)
        if not 0 < party_id <= _MAX_ID or not micros_text.lstrip("-").isdigit():
            raise ValueError(text)
        return _EPOCH + timedelta(microseconds=micros), party_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidCursor() from None


def encode_named(name: str, number: int) -> str:
    """A cursor over (a short name, a number): the guest list's (status, answer order)."""
    return base64.urlsafe_b64encode(f"{name}.{number}".encode()).decode().rstrip("=")


def decode_named(cursor: str, names: frozenset[str]) -> tuple[str, int]:
    """The (name, number) of ``encode_named``; ``InvalidCursor`` unless the name is one of
    ``names`` and the number a positive 64-bit integer."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        name, number_text = text.split(".")
        number = int(number_text)
        if name not in names or not number_text.isdigit() or not 0 < number <= _MAX_ID:
            raise ValueError(text)
        return name, number
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
