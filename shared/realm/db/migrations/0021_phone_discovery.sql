-- match-contacts (DESIGN §12) finds only the users who said so: off unless they turn it on.
ALTER TABLE users ADD COLUMN discoverable_by_phone boolean NOT NULL DEFAULT false;

-- The lookup of up to 500 numbers: only discoverable users are in this index, so a number
-- that belongs to someone who did not opt in is never even read.
CREATE INDEX users_discoverable_phone ON users (phone)
    WHERE discoverable_by_phone AND phone IS NOT NULL;
