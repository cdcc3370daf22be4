-- Profile photos. A row is written with the upload (status 'processing'); the make-thumbnail
-- event function makes it 'ready' or 'rejected'.

CREATE TABLE photos (
    id              uuid PRIMARY KEY,
    owner_id        bigint NOT NULL REFERENCES users (id),
    status          text NOT NULL DEFAULT 'processing'
                    CHECK (status IN ('processing', 'ready', 'rejected')),
    content_type    text NOT NULL,
    width           integer CHECK (width > 0),
    height          integer CHECK (height > 0),
    bytes           bigint NOT NULL CHECK (bytes > 0),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    original_key    text NOT NULL,
    -- Size name ('display', '512', '128') → object key, once ready.
    thumbnail_keys  jsonb NOT NULL DEFAULT '{}'::jsonb,
    rejected_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (rejected_reason IS NOT NULL))
);
CREATE INDEX photos_owner ON photos (owner_id);

ALTER TABLE users ADD CONSTRAINT users_photo_fk FOREIGN KEY (photo_id) REFERENCES photos (id);
