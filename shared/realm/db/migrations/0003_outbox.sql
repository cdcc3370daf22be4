-- Events are written to the outbox in the same transaction as the change they describe, and
-- published after commit (or by relay-outbox). Event functions record what they have done in
-- processed_events, which makes them idempotent on event_id.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    topic           text NOT NULL,
    type            text NOT NULL,
    -- The exact message data that is published: {"event_id", "type", "occurred_at", "data"}.
    message         jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_error      text
);
-- The relay reads pending rows oldest first; published rows leave the index.
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE processed_events (
    subscriber   text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, event_id)
);
