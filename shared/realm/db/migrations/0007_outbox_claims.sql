-- The outbox is published with no transaction open across the call to Pub/Sub
-- (docs/decisions/0022): a publisher claims pending rows for a short lease in one statement,
-- publishes holding no connection, and records the outcome in another. A row claimed and not
-- yet released is skipped by every other publisher until its lease ends, which is what keeps
-- two relays (or a relay and a request) from publishing it at the same moment.
ALTER TABLE outbox
    ADD COLUMN claimed_by    uuid,
    ADD COLUMN claimed_until timestamptz;
