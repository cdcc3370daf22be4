"""Phone numbers as people type them and address books hold them, made E.164.

Numbers must be international (with their country code): the server cannot know which country
a contact's "0151 1234567" belongs to, and the app can (libphonenumber on the device, with the
phone's region). Common formatting is accepted and removed: spaces, dashes, dots, slashes,
parentheses, and the "(0)" that European numbers often carry after the country code
("+49 (0)151 123-4567" is +491511234567). Nothing else is guessed.
"""

from __future__ import annotations

import re

# The most numbers one match-contacts call may look up (DESIGN §12).
MAX_PER_LOOKUP = 500
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Formatting people and address books put in numbers; any Unicode space counts as a space.
_FORMATTING = re.compile(r"[\s\-./()]")
_TRUNK_ZERO = re.compile(r"^(\+[0-9]{1,3})\s*\(0\)")


def normalize(number: str) -> str:
    """The E.164 form of a phone number as an address book may hold it; ValueError if it is not
    an international number. The message never repeats the number."""
    bare = _FORMATTING.sub("", _TRUNK_ZERO.sub(r"\1", number.strip()))
    if not E164.match(bare):
        raise ValueError(
            "must be an international number: '+', the country code, then 6 to 14 digits"
            " (spaces, dashes, dots, slashes and parentheses are ignored)"
        )
    return bare
