-- Deleting an account (DESIGN §13; realm.accounts.deletion, docs/decisions/0052).

-- 1. The users each event names. An outbox row keeps its whole message, and a message names
--    users by id (guest_id, host_id, user_id, guest_ids) and beside them by uid and display
--    name. Deleting an account finds the events that name the person in one lookup of this
--    index: to delete them, to take the person out of a list of recipients, and to find the
--    notifications in other people's feeds whose text names them. realm.events.outbox fills
--    it from the same fields as this backfill.
ALTER TABLE outbox ADD COLUMN user_ids bigint[] NOT NULL DEFAULT '{}';

UPDATE outbox o SET user_ids = ARRAY(
    SELECT DISTINCT named.id FROM (
        SELECT CAST(o.message -> 'data' ->> field AS bigint)
        FROM unnest(ARRAY['guest_id', 'host_id', 'user_id']) AS field
        UNION ALL
        SELECT CAST(item AS bigint)
        FROM jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(o.message -> 'data' -> 'guest_ids') = 'array'
                 THEN o.message -> 'data' -> 'guest_ids' ELSE '[]' END) AS item
        UNION ALL
        -- Before this migration party-cancelled and cohost-added named their host by name
        -- only; the party's host is who cancelled it, or made the co-host.
        SELECT p.host_id FROM parties p
        WHERE o.type IN ('party-cancelled', 'cohost-added')
          AND p.id = CAST(o.message -> 'data' ->> 'party_id' AS bigint)
    ) AS named(id)
    WHERE named.id IS NOT NULL
    ORDER BY named.id
);

CREATE INDEX outbox_user_ids ON outbox USING gin (user_ids);

-- 2. An erasure: what deleting an account leaves to do outside PostgreSQL (the photo objects,
--    the Firestore feed and the notifications in others' feeds that name the person, the
--    Firebase Auth account), done by the account-deleted event. The event carries only the
--    erasure's id, so no message, outbox row or dead letter holds anything personal; the
--    steps done are recorded here, so a redelivery does only what is left.
CREATE TABLE account_erasures (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the uid, as for quotas. Kept once the erasure is done, so that an event
    -- about the account that arrives late (Pub/Sub redelivers for days) is known for what it
    -- is and dropped; swept when older than any event still acted on.
    subject          text NOT NULL CHECK (subject ~ '^[0-9a-f]{64}$'),
    requested_at     timestamptz NOT NULL DEFAULT now(),
    -- What the work needs: photos/{user_id}/..., users/{auth_uid}/notifications, the Auth
    -- account. Cleared, with the steps, when the erasure finishes.
    user_id          bigint,
    auth_uid         text,
    photos_done_at   timestamptz,
    feed_done_at     timestamptz,
    mentions_done_at timestamptz,
    sign_in_done_at  timestamptz,
    finished_at      timestamptz,
    CHECK ((finished_at IS NULL) = (user_id IS NOT NULL AND auth_uid IS NOT NULL))
);
-- "Was this uid's account deleted after this event happened?" (realm.events.erased).
CREATE INDEX account_erasures_subject ON account_erasures (subject, requested_at);
CREATE INDEX account_erasures_finished ON account_erasures (finished_at)
    WHERE finished_at IS NOT NULL;

-- Notifications in other people's feeds whose text names the person ("Zoë invited you ..."):
-- found in the deletion's transaction, deleted by the erasure.
CREATE TABLE account_erasure_mentions (
    erasure_id      bigint NOT NULL REFERENCES account_erasures (id) ON DELETE CASCADE,
    auth_uid        text NOT NULL,
    notification_id text NOT NULL,
    PRIMARY KEY (erasure_id, auth_uid, notification_id)
);
