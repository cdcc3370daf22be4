-- Handles: the name people find each other by (DESIGN §12). Stored in their canonical lower
-- case, so uniqueness is case-insensitive with a plain unique index; the API accepts any case
-- and lowers it. Users who signed up before handles existed get one made of their id.

ALTER TABLE users ADD COLUMN handle text;
UPDATE users SET handle = 'user' || id;
ALTER TABLE users
    ALTER COLUMN handle SET NOT NULL,
    ADD CONSTRAINT users_handle_shape CHECK (handle ~ '^[a-z0-9_.]{3,30}$' AND handle ~ '[a-z0-9]');
CREATE UNIQUE INDEX users_handle_key ON users (handle);
