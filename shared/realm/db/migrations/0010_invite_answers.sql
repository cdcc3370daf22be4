-- Answers with a waitlist and plus-ones (DESIGN §11).
--
-- status gains 'waitlisted': the guest said yes but the party was full, or someone was already
-- waiting. plus_ones are the people a confirmed (or waiting) guest brings; a declined or
-- unanswered invite brings nobody.
--
-- answer_seq orders answers: it is taken from a sequence whenever the guest answers (an
-- unanswered invite takes one when it is created). Answers to one party are serialised on the
-- party's row (realm.hosting.capacity), so the order of answer_seq is the order in which they
-- were served: the waitlist is promoted in that order, and the guest list reads in it.
-- Promotion keeps the number, so a promoted guest stays where their answer put them.

ALTER TABLE invites DROP CONSTRAINT invites_status_check;
ALTER TABLE invites
    ADD CONSTRAINT invites_status_check
        CHECK (status IN ('invited', 'confirmed', 'declined', 'waitlisted')),
    ADD COLUMN plus_ones integer NOT NULL DEFAULT 0 CHECK (plus_ones BETWEEN 0 AND 10),
    ADD CONSTRAINT invites_plus_ones_only_when_coming
        CHECK (plus_ones = 0 OR status IN ('confirmed', 'waitlisted'));

CREATE SEQUENCE invites_answer_seq AS bigint;
ALTER TABLE invites ADD COLUMN answer_seq bigint;
UPDATE invites i SET answer_seq = o.n
FROM (SELECT id, row_number() OVER (ORDER BY coalesce(responded_at, created_at), id) AS n
      FROM invites) o
WHERE o.id = i.id;
SELECT setval('invites_answer_seq', coalesce((SELECT max(answer_seq) FROM invites), 0) + 1, false);
ALTER SEQUENCE invites_answer_seq OWNED BY invites.answer_seq;
ALTER TABLE invites
    ALTER COLUMN answer_seq SET DEFAULT nextval('invites_answer_seq'),
    ALTER COLUMN answer_seq SET NOT NULL;

-- Which guest screen an invite is on: the Invited screen holds unanswered invites, the
-- Confirmed screen those the guest said yes to, waiting or not; a declined one is on neither
-- (NULL). Stored, so that each screen stays one range of one index although the Confirmed
-- screen holds two statuses.
ALTER TABLE invites ADD COLUMN screen text GENERATED ALWAYS AS (
    CASE status WHEN 'invited' THEN 'invited'
                WHEN 'confirmed' THEN 'confirmed'
                WHEN 'waitlisted' THEN 'confirmed' END
) STORED;

-- status is included so that the list reads the caller's answer from the index alone (an
-- index-only scan, as before the waitlist).
DROP INDEX invites_guest_list;
CREATE INDEX invites_guest_list ON invites (guest_id, screen, party_first_entry, party_id)
    INCLUDE (status) WHERE screen IS NOT NULL;

-- A party's guest list by status, in order of answering (list-guests), and its head count
-- (the sum of 1 + plus_ones over the confirmed range, from the index alone).
CREATE INDEX invites_party_guests ON invites (party_id, status, answer_seq) INCLUDE (plus_ones);
