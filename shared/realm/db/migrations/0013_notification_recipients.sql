-- Who an event tells, and how far notify-guest has got (realm.events.fanout).
--
-- An event for many people (a cancelled party tells every guest) is one outbox row and one
-- Pub/Sub message; its recipients are rows here, written in the same transaction as the event.
-- notify-guest marks each one delivered once its notification is written, so a redelivered
-- event writes nothing twice and a delivery that failed part-way resumes where it stopped.
-- A deleted user's rows go with them: they are never told anything.

CREATE TABLE notification_recipients (
    event_id     uuid NOT NULL,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    PRIMARY KEY (event_id, user_id)
);
-- Deleting a user finds their rows without scanning the table.
CREATE INDEX notification_recipients_user ON notification_recipients (user_id);
