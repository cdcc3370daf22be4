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
