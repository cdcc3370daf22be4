-- Blocks between users (DESIGN §12): the blocked user cannot invite the blocker or join their
-- parties by link, and neither finds the other. Removed with either user.
CREATE TABLE blocks (
    blocker_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
-- "Has anyone blocked this user": searches look both ways.
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);
