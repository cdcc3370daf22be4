"""SQL that writes values as the API's JSON writes them, so that PostgreSQL can render a whole
response body and Python moves one text value instead of converting, validating and encoding
each row (docs/decisions/0060-responses-rendered-by-postgresql.md).

Objects are built with ``json_build_object`` (never jsonb's, which reorders keys) from the same
fields, in the same order, as the response models in ``realm.edge.api_models``; a test renders
each body both ways and compares them.
"""

from __future__ import annotations


def time(expression: str) -> str:
    """A ``timestamptz`` as the models write a UTC datetime: ``2026-05-01T20:00:00Z``, with the
    microseconds only when there are any (``…T20:00:00.250000Z``); NULL stays null."""
    return (
        f"to_char(({expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'"
        f" || CASE WHEN date_trunc('second', {expression}) = ({expression}) THEN ''"
        " ELSE '.US' END || '\"Z\"')"
    )
