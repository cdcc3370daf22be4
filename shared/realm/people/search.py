"""find-users: people by a prefix of their handle or of any word of their name (DESIGN §12).

Matching ignores case and accents ("zoe" finds Zoë, "angs" finds Ångström): names and handles
are folded into the terms of ``user_search_terms`` by the database itself (migration 0020), and
the query is folded by the same SQL functions, so both sides always agree. A query of several
words ("zoe sm") finds the users with a term starting with each word.

Order, soonest-to-type first: the user whose handle is exactly the query, then every match in
the order of the matching term (so exact words come before longer ones: "zoe" before "zoey"),
handles before name words, then by id. That is the order of the ``user_search_terms_find``
index, so a page is one range scan of it, however many users match; the cursor is the last
row's (term, rank, user id). The caller and everyone across a block (either way) never appear.

See docs/decisions/0040-finding-users.md for the choice of index and its numbers.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from realm.cursors import pack_text, unpack_text
from realm.db import Tx
from realm.errors import InvalidCursor
from realm.media import urls
from realm.people import blocks, handles
from realm.people.users import Summary, id_for, summary_json

# The first row of the scan: before every term that the query's lead word starts.
_START: tuple[str | None, int, int] = (None, -1, 0)
# A query of several words looks at this many terms of its lead word per page, at most: a rare
# combination of common words ("an zz") would otherwise read every term of the lead word. A
# page may then hold fewer users than asked for, with a cursor to look further.
BUDGET = 1000

# The words of the query: its space-separated parts, each folded as a handle's term is
# (realm_search_key: no accents, lower case, letters and digits only), distinct, longest
# first. Written out here rather than as a SQL function so that its plan is made once, with
# the statement's (a SQL function with an aggregate is planned again at every call: 0.4 ms).
QUERY_WORDS_SQL = """
    SELECT COALESCE(array_agg(word ORDER BY length(word) DESC, first_at), CAST('{}' AS text[]))
    FROM (
        SELECT realm_search_key(chunk.text) AS word, min(chunk.n) AS first_at
        FROM regexp_split_to_table(:q, '[[:space:]]+') WITH ORDINALITY AS chunk(text, n)
        GROUP BY 1
    ) AS given
    WHERE word <> ''
"""
# One word: it leads. Several: the one that starts the fewest terms leads (counted up to the
# budget, longer words first among equals), so that "lea kowal" reads Kowalskis, not every Léa;
# after a cursor, the word that the cursor's term starts keeps leading, so pages follow on.
_ONE_WORD_QUERY = f"""
    SELECT words[1] AS lead, array_remove(words, words[1]) AS others
    FROM (SELECT ({QUERY_WORDS_SQL}) AS words OFFSET 0) folded
"""
_SEVERAL_WORDS_QUERY = f"""
    SELECT words[1] AS lead, array_remove(words, words[1]) AS others
    FROM (
        SELECT array_agg(word ORDER BY
            COALESCE(starts_with(:after_term, word), false) DESC,
            (SELECT count(*) FROM (
                -- ORDER BY: an index scan that stops at the budget, not a bitmap of all.
                SELECT 1 FROM user_search_terms s
                WHERE s.term >= word AND s.term < realm_prefix_end(word)
                ORDER BY s.term LIMIT :budget
            ) started),
            n) AS words
        FROM unnest(({QUERY_WORDS_SQL})) WITH ORDINALITY AS given(word, n)
    ) ranked
"""

_COMMON = f"""
WITH me AS MATERIALIZED (SELECT id FROM users WHERE auth_uid = :uid),
query AS MATERIALIZED (<query>),
hidden AS MATERIALIZED (
    SELECT (SELECT id FROM me) || {blocks.hidden_ids_sql("(SELECT id FROM me)")} AS ids
),
-- Shown first on the first page, and never again.
exact AS MATERIALIZED (
    SELECT u.id AS user_id, CAST(NULL AS text) AS term, -1 AS rank
    FROM users u
    WHERE u.handle = :handle AND u.id <> ALL (CAST((SELECT ids FROM hidden) AS bigint[]))
),
"""

# The terms that start with the lead word, after the cursor, in index order. A cursor from
# another query cannot widen the range: it counts only when it falls inside it.
_SCAN = """
    SELECT t.user_id, t.term, t.rank
    FROM user_search_terms t
    WHERE (t.term, t.rank, t.user_id) > (
            CASE WHEN :after_term COLLATE "C" >= (SELECT lead FROM query)
                 THEN :after_term ELSE (SELECT lead FROM query) END,
            CASE WHEN :after_term COLLATE "C" >= (SELECT lead FROM query)
                 THEN :after_rank ELSE -1 END,
            CASE WHEN :after_term COLLATE "C" >= (SELECT lead FROM query)
                 THEN :after_id ELSE 0 END)
      AND t.term < realm_prefix_end((SELECT lead FROM query))
      AND t.user_id <> ALL (CAST((SELECT ids FROM hidden) AS bigint[]))
      AND NOT EXISTS (SELECT 1 FROM exact WHERE exact.user_id = t.user_id)
      -- Each user once, at their first matching term.
      AND NOT EXISTS (
          SELECT 1 FROM user_search_terms earlier
          WHERE earlier.user_id = t.user_id
            AND earlier.term >= (SELECT lead FROM query) AND earlier.term < t.term
      )
"""

# Every other word of the query starts some term of the same user.
_OTHER_WORDS = """
      NOT EXISTS (
          SELECT 1 FROM unnest((SELECT others FROM query)) AS other(word)
          WHERE NOT EXISTS (
              SELECT 1 FROM user_search_terms also
              WHERE also.user_id = {row}.user_id
                AND also.term >= other.word AND also.term < realm_prefix_end(other.word)
          )
      )
"""

# The page as one row (docs/decisions/0060): the users found as a JSON array of
# api_models.UserSummaryOut (:limit is the page's size and one more), how many were found, the
# last shown one's key and the frontier's (for the cursor), and whether a photo needs its URLs.
_SHOW = f"""
, shown AS (
    SELECT row_number() OVER (ORDER BY found.kind = 'frontier', found.term IS NOT NULL,
                                       found.term, found.rank, found.user_id) AS n,
           {summary_json("u", "ph")} AS summary,
           u.id, found.term, found.rank, found.kind, ph.status AS photo_status
    FROM found
    JOIN users u ON u.id = found.user_id
    LEFT JOIN photos ph ON ph.id = u.photo_id
)
SELECT count(*) AS rows, count(*) FILTER (WHERE kind <> 'frontier') AS found,
       CAST(COALESCE(json_agg(summary ORDER BY n)
                       FILTER (WHERE kind <> 'frontier' AND n < :limit), '[]') AS text) AS users,
       min(term) FILTER (WHERE n = :limit - 1) AS last_term,
       min(rank) FILTER (WHERE n = :limit - 1) AS last_rank,
       min(id) FILTER (WHERE n = :limit - 1) AS last_id,
       min(term) FILTER (WHERE kind = 'frontier') AS frontier_term,
       min(rank) FILTER (WHERE kind = 'frontier') AS frontier_rank,
       min(id) FILTER (WHERE kind = 'frontier') AS frontier_id,
       COALESCE(bool_or(photo_status = 'ready') FILTER (WHERE kind <> 'frontier'
                                                          AND n < :limit), false) AS photos
FROM shown
"""

# Parameters (``params``): uid, q, handle (the query as an exact handle, or None), first_page,
# after_term (None: from the start), after_rank, after_id, limit; and budget for several words.
ONE_WORD_SQL = f"""{_COMMON.replace("<query>", _ONE_WORD_QUERY)}
matches AS (
    {_SCAN}
      AND {_OTHER_WORDS.format(row="t")}
    ORDER BY t.term, t.rank, t.user_id
    LIMIT :limit
),
found AS (
    SELECT *, 'exact' AS kind FROM exact WHERE :first_page
    UNION ALL SELECT *, 'match' FROM matches
)
{_SHOW}"""

SEVERAL_WORDS_SQL = f"""{_COMMON.replace("<query>", _SEVERAL_WORDS_QUERY)}
matches AS (
    SELECT c.* FROM (
        {_SCAN}
        ORDER BY t.term, t.rank, t.user_id
        LIMIT :budget
    ) c
    WHERE {_OTHER_WORDS.format(row="c")}
    -- The order of the scan: the page stops reading as soon as it is full.
    ORDER BY c.term, c.rank, c.user_id
    LIMIT :limit
),
-- Where the next page starts when the budget ran out before the page was full: the last term
-- the budget let us look at. Read only for a page that is not full (CASE: in this order).
frontier AS (
    SELECT t.* FROM (
        {_SCAN}
        ORDER BY t.term, t.rank, t.user_id
        OFFSET :budget - 1
        LIMIT 1
    ) t
    WHERE CASE WHEN (SELECT count(*) FROM matches) < :limit THEN true ELSE false END
),
found AS (
    SELECT *, 'exact' AS kind FROM exact WHERE :first_page
    UNION ALL SELECT *, 'match' FROM matches
    UNION ALL SELECT *, 'frontier' FROM frontier
)
{_SHOW}"""


@dataclass(frozen=True)
class Page:
    # The users as the API sends them: a JSON array of api_models.UserSummaryOut, rendered by
    # PostgreSQL.
    rendered: urls.Rendered
    next_cursor: str | None

    @property
    def users(self) -> list[Summary]:
        """The users as objects, for Python callers (the function sends ``rendered``)."""
        return [Summary.from_json(value) for value in json.loads(self.rendered.raw)]


def _exact_handle(q: str) -> str | None:
    """The handle the query would be if typed whole ("@Zoe.M" is zoe.m); None if it is not one."""
    handle = q.strip().removeprefix("@").lower()
    return handle if handles.SHAPE.fullmatch(handle) else None


def encode_cursor(term: str | None, rank: int, user_id: int) -> str:
    raw = json.dumps([term, rank, user_id], ensure_ascii=False, separators=(",", ":"))
    return pack_text(raw)


def decode_cursor(cursor: str) -> tuple[str | None, int, int]:
    try:
        raw = unpack_text(cursor)
        term, rank, user_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidCursor() from None
    if term is None:
        valid = (rank, user_id) == (-1, 0) and type(rank) is type(user_id) is int
    else:
        valid = (
            isinstance(term, str)
            and 0 < len(term) <= 200
            and _storable(term)
            and type(rank) is int
            and rank in (0, 1)
            and type(user_id) is int
            and 0 < user_id < 2**63
        )
    if not valid:
        raise InvalidCursor()
    return term, rank, user_id


def _storable(term: str) -> bool:
    """Whether PostgreSQL can take ``term`` as text: JSON may spell a lone surrogate (no UTF-8
    for it) or a NUL (text cannot hold one), which would fail in the query, not here."""
    try:
        term.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in term


def several_words(q: str) -> bool:
    """Whether ``q`` has more than one word, which only chooses the SQL: both hold the same rule,
    so a different split here than in SQL (QUERY_WORDS_SQL) costs time, never results."""
    return len(q.split()) > 1


def params(auth_uid: str, q: str, *, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """The parameters of the search SQL for one page (also used by the plan test)."""
    after_term, after_rank, after_id = decode_cursor(cursor) if cursor else _START
    values: dict[str, Any] = dict(
        uid=auth_uid,
        q=q,
        handle=_exact_handle(q),
        first_page=cursor is None,
        after_term=after_term,
        after_rank=after_rank,
        after_id=after_id,
        limit=limit + 1,
    )
    if several_words(q):
        values["budget"] = BUDGET
    return values


def sql_for(q: str) -> str:
    return SEVERAL_WORDS_SQL if several_words(q) else ONE_WORD_SQL


def _key(term: str | None, rank: int, user_id: int) -> tuple[str | None, int, int]:
    # After the exact handle, the next page starts at the beginning of the scan.
    return (term, rank, user_id) if term is not None else _START


def find(tx: Tx, auth_uid: str, q: str, *, limit: int, cursor: str | None = None) -> Page:
    """One page of the users ``q`` finds for the caller. Raises ``InvalidCursor`` for a cursor
    this API did not give out."""
    page = tx.one(sql_for(q), **params(auth_uid, q, limit=limit, cursor=cursor))
    assert page is not None, "an aggregate gives one row"
    if not page["rows"]:
        id_for(tx, auth_uid)  # nobody found, or a caller who never signed up?
    if page["found"] > limit:
        next_cursor: str | None = encode_cursor(
            *_key(page["last_term"], page["last_rank"], page["last_id"])
        )
    elif page["frontier_id"] is not None:
        next_cursor = encode_cursor(
            *_key(page["frontier_term"], page["frontier_rank"], page["frontier_id"])
        )
    else:
        next_cursor = None
    return Page(urls.Rendered(page["users"], page["photos"]), next_cursor)
