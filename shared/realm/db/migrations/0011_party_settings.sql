-- What a host may set besides the party's name and time (DESIGN §11), and a revision for
-- calendar feeds.
--
-- revision is the calendar event's SEQUENCE: it rises with every change a guest's calendar
-- should pick up (update-party, cancel-party).

ALTER TABLE parties
    ADD COLUMN max_plus_ones integer NOT NULL DEFAULT 0 CHECK (max_plus_ones BETWEEN 0 AND 10),
    ADD COLUMN guest_list_visible boolean NOT NULL DEFAULT false,
    ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);

-- send-reminders looks for parties that start within the next 24 hours.
CREATE INDEX parties_starting ON parties (first_entry) WHERE cancelled_at IS NULL;
