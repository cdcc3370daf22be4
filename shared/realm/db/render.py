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


def page(rows: str, item: str, order: str, cursor: dict[str, str]) -> str:
    """SQL: one page of a list as one row, from ``rows``: a range that selects the page's
    items and one more (``LIMIT :limit``), each as the JSON column ``item``, with a
    ``photo_status`` column, in the order ``order`` (the range's own, so that numbering the rows
    adds no sort).

    The row holds ``found`` (how many rows the range gave: more than the page's size says there
    is a next page), ``items`` (the page as a JSON array, as text), for each ``cursor`` name the
    value of its column in the last item shown (the next page's cursor), and ``photos``, whether
    any item shown has a ready photo (``realm.media.urls.Rendered``)."""
    last = "".join(
        f"min({column}) FILTER (WHERE n = :limit - 1) AS {name}, "
        for name, column in cursor.items()
    )
    return f"""
SELECT count(*) AS found,
       CAST(COALESCE(json_agg({item} ORDER BY n) FILTER (WHERE n < :limit), '[]') AS text)
         AS items,
       {last}COALESCE(bool_or(photo_status = 'ready') FILTER (WHERE n < :limit), false) AS photos
FROM (SELECT row_number() OVER (ORDER BY {order}) AS n, ranged.*
      FROM ({rows}) ranged) numbered
"""
