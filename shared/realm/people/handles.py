"""Handles: unique, case-insensitive names of the shape ``[a-z0-9_.]{3,30}``.

A handle is chosen at sign-up (or later, ``update-profile``) or made from the display name:
letters and digits of the name, accents dropped, lower case (``Zoë Smith`` → ``zoesmith``),
with a number appended when that one is taken. Making one never fails a sign-up: after a few
taken candidates the number grows long enough that a clash is practically impossible, and the
caller retries with the next candidate on the rare clash (``candidates``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterator

SHAPE = re.compile(r"^[a-z0-9_.]{3,30}$")
PATTERN = r"^[A-Za-z0-9_.]{3,30}$"  # what the API accepts before lowering it
_FALLBACK = "user"
# Room for the number appended to a taken handle.
_BASE_MAX = 22


def canonical(handle: str) -> str:
    """The stored form of a handle the caller typed; ValueError if it can never be one."""
    lowered = handle.strip().lower()
    if not SHAPE.match(lowered) or not re.search(r"[a-z0-9]", lowered):
        raise ValueError("must be 3 to 30 letters, digits, '_' or '.', with a letter or digit")
    return lowered


def base_for(display_name: str) -> str:
    """The handle a display name suggests, before any number is appended."""
    decomposed = unicodedata.normalize("NFKD", display_name)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    base = re.sub(r"[^a-z0-9]+", "", ascii_only)[:_BASE_MAX]
    return base if len(base) >= 3 else (base + _FALLBACK)[:_BASE_MAX]


def candidates(display_name: str) -> Iterator[str]:
    """Handles to try, in order, for a user with this display name: the base, then the base
    with a random number that grows longer with each clash."""
    base = base_for(display_name)
    yield base
    for digits in (2, 2, 3, 3, 4, 4, 6):
        yield f"{base}{secrets.randbelow(10**digits):0{digits}d}"
    while True:
        yield f"{base}{secrets.randbelow(10**8):08d}"
