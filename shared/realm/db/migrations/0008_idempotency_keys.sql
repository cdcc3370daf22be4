-- Idempotency-Key (realm.edge.idempotency, docs/decisions/0020): one row per key a caller sent
-- to a creating POST in the last 24 hours. While the request runs the row is "in progress"
-- (status NULL, locked until a lease ends); once it succeeded it holds the response, which a
-- retry with the same key and the same input gets back instead of doing the work again.
--
-- The subject is a SHA-256 of the caller's Firebase uid (as for quotas); the stored response
-- may hold the caller's own profile (signup), and is kept only for the 24 hours of the key.
CREATE TABLE idempotency_keys (
    subject      text NOT NULL,
    key          text NOT NULL,
    -- SHA-256 of the operation and its parsed input: the same key with other input is a 422.
    fingerprint  text NOT NULL,
    status       smallint,
    response     text,
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);
-- Expired keys are swept oldest first, a few per new key.
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
