-- Calendar feed secrets (calendar-link, calendar). One per user: a new link replaces the old
-- one, which then stops working. Only the SHA-256 of the secret is stored; the secret itself
-- is shown once, in the link.

CREATE TABLE calendar_feeds (
    user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
