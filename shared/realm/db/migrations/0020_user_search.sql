-- Finding people (find-users, DESIGN §12): a prefix of the handle or of any word of the display
-- name, without regard to case or accents. See docs/decisions/0040-finding-users.md.
--
-- Each user's searchable terms are rows of user_search_terms, kept by triggers on users, so
-- that every writer of a user (sign-up, update-profile, the seed, a test's INSERT) is covered
-- and a search is one range of one btree. Terms are folded here, in SQL, and queries are folded
-- by the same functions: there is one definition of "the same letters".

-- unaccent is a trusted extension (the schema owner may create it) that Cloud SQL offers.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- The folded form of text: accents and ligatures removed (Zoë -> zoe, Ångström -> angstrom,
-- ß -> ss, full-width Ｚｏｅ -> zoe), lower case. The API stores text in NFC, the form unaccent's
-- rules are written for. ICU's lower case and
-- letter classes (below) do not depend on the database's locale, so Cloud SQL (en_US.UTF8) and
-- the local server (C.UTF-8) fold alike. STABLE, as unaccent is: its rules file could change,
-- which is why the fold is stored in a table and never used in an index expression.
CREATE FUNCTION realm_fold(value text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, value) COLLATE "und-x-icu");

-- A query word (realm.people.search), as a handle's term is: folded, with everything but
-- letters and digits removed ("zoe.m" -> "zoem", "O'Brien" -> "obrien").
CREATE FUNCTION realm_search_key(value text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN regexp_replace(realm_fold(value) COLLATE "und-x-icu", '[^[:alnum:]]+', '', 'g');

-- A user's terms, each with its rank: 0 for the handle, 1 for a word of the display name (a
-- term that is both is a handle). The words of a name are its runs of letters and digits
-- ("Jean-Luc O'Brien" -> jean, luc, o, brien) and each space-separated part without its
-- punctuation (jeanluc, obrien), so that a name is found however it is typed.
CREATE FUNCTION realm_user_terms(handle text, display_name text)
    RETURNS TABLE (term text, rank smallint)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT DISTINCT ON (found.term) found.term, CAST(found.rank AS smallint)
    FROM (
        SELECT regexp_replace(handle, '[._]', '', 'g'), 0
        UNION ALL
        SELECT part.term, 1
        FROM regexp_split_to_table(realm_fold(display_name) COLLATE "und-x-icu", '[[:space:]]+')
                 AS chunk(text),
             LATERAL (
                 SELECT regexp_split_to_table(chunk.text, '[^[:alnum:]]+')
                 UNION ALL
                 SELECT regexp_replace(chunk.text, '[^[:alnum:]]+', '', 'g')
                 WHERE chunk.text ~ '[^[:alnum:]]'
             ) AS part(term)
    ) AS found(term, rank)
    WHERE found.term <> ''
    ORDER BY found.term, found.rank;
END;

-- The least string greater than every string that starts with ``prefix`` (in code point order,
-- which is the "C" collation's order for UTF-8): the end of a prefix's index range. Skips the
-- surrogate block, which no text holds.
CREATE FUNCTION realm_prefix_end(prefix text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN left(prefix, -1)
        || chr(CASE ascii(right(prefix, 1)) WHEN 55295 THEN 57344
                                           ELSE ascii(right(prefix, 1)) + 1 END);

CREATE TABLE user_search_terms (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Byte order: a prefix is one range, whatever the database's locale.
    term    text COLLATE "C" NOT NULL,
    rank    smallint NOT NULL CHECK (rank IN (0, 1)),
    PRIMARY KEY (user_id, term)
);
-- The search: one range per query, in the order results are shown (term, handles first, id).
CREATE UNIQUE INDEX user_search_terms_find ON user_search_terms (term, rank, user_id);

-- Statement-level triggers with transition tables: a bulk INSERT of users is indexed in one
-- set-based statement (100k users in about a second), not row by row.
CREATE FUNCTION realm_index_inserted_users() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_search_terms (user_id, term, rank)
    SELECT n.id, t.term, t.rank FROM new_users n, realm_user_terms(n.handle, n.display_name) t;
    RETURN NULL;
END $$;

CREATE FUNCTION realm_index_updated_users() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- Only users whose handle or name changed (most updates touch neither: a new photo).
    DELETE FROM user_search_terms t
    USING new_users n JOIN old_users o ON o.id = n.id
    WHERE t.user_id = n.id
      AND (n.handle, n.display_name) IS DISTINCT FROM (o.handle, o.display_name);
    INSERT INTO user_search_terms (user_id, term, rank)
    SELECT n.id, t.term, t.rank
    FROM new_users n JOIN old_users o ON o.id = n.id,
         realm_user_terms(n.handle, n.display_name) t
    WHERE (n.handle, n.display_name) IS DISTINCT FROM (o.handle, o.display_name);
    RETURN NULL;
END $$;

CREATE TRIGGER users_search_terms_inserted AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION realm_index_inserted_users();
CREATE TRIGGER users_search_terms_updated AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION realm_index_updated_users();

-- The users who signed up before this migration.
INSERT INTO user_search_terms (user_id, term, rank)
SELECT u.id, t.term, t.rank FROM users u, realm_user_terms(u.handle, u.display_name) t;
