-- One row per reminder sent (send-reminders): the unique key is what makes two runs at once
-- send each reminder once. Moving a party deletes its rows, so that guests are reminded of
-- the new time.

CREATE TABLE reminders_sent (
    party_id bigint NOT NULL REFERENCES parties (id) ON DELETE CASCADE,
    guest_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (party_id, guest_id)
);
CREATE INDEX reminders_sent_guest ON reminders_sent (guest_id);
