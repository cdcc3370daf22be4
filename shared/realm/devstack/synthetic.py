"""Synthetic users at scale, for the plan tests and the benchmarks (never for the app).

Names are drawn from first and last names with accents and apostrophes (Zoë, Ångström,
O'Brien), so that search terms are shaped as real ones: many users share a first name, fewer a
last name, and every seventh has a number in their name too. A third of them have a phone
number, a tenth of those discoverable. Made in one INSERT: the search terms come from the
database's own trigger, as for real sign-ups.
"""

from __future__ import annotations

from realm.db import Tx

FIRST_NAMES = [
    *("Zoë", "Anna", "Ben", "Chloé", "Dmitri", "Émile", "Fatima", "Günter", "Hana", "Ígor"),
    *("Jürgen", "Kai", "Léa", "Mia", "Noé", "Olga", "Paul", "Quentin", "Rosa", "Søren"),
    *("Tomás", "Uma", "Vera", "Wanda", "Xavier", "Yara", "Zara", "Åsa", "Björn", "Çelik"),
]
LAST_NAMES = [
    *("Ångström", "Müller", "Smith", "García", "Nguyen", "Kowalski", "O'Brien", "Dubois"),
    *("Rossi", "Novák", "Jensen", "Silva", "Yamada", "Ivanova", "Schmidt", "Lefèvre", "Costa"),
    *("Öztürk", "Hansen", "Moreau", "Fischer", "Brown", "Martin", "Bernard", "Petit", "Durand"),
    *("Leroy", "Roux", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine"),
    *("Rousseau", "Vincent", "Muller", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer"),
    *("Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Perrin", "Robin"),
]
# Users n have the phone +1555<n, 7 digits>; those with n % 30 == 0 are discoverable.
PHONE_PREFIX = "+1555"


def phone_of(n: int) -> str:
    return f"{PHONE_PREFIX}{n:07d}"


def add_users(tx: Tx, count: int, *, prefix: str = "synthetic") -> None:
    """Adds users 1..count: auth uid and handle ``<prefix><n>``, email at example.test."""
    tx.execute(
        "INSERT INTO users"
        " (auth_uid, handle, display_name, email, phone, discoverable_by_phone)"
        " SELECT :prefix || n, :prefix || n,"
        "        (CAST(:first AS text[]))[1 + n % CAST(:firsts AS int)]"
        "        || ' '"
        "        || (CAST(:last AS text[]))[1 + (n / CAST(:firsts AS int)) % CAST(:lasts AS int)]"
        "        || CASE WHEN n % 7 = 0 THEN ' ' || n ELSE '' END,"
        "        :prefix || n || '@example.test',"
        "        CASE WHEN n % 3 = 0 THEN :phone_prefix || lpad(CAST(n AS text), 7, '0') END,"
        "        n % 30 = 0"
        " FROM generate_series(1, CAST(:count AS int)) n",
        prefix=prefix,
        first=FIRST_NAMES,
        firsts=len(FIRST_NAMES),
        last=LAST_NAMES,
        lasts=len(LAST_NAMES),
        phone_prefix=PHONE_PREFIX,
        count=count,
    )
