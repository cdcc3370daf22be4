-- Devices: the FCM registration tokens of each user's app installations (DESIGN §13).
--
-- A token names one installation of the app, so it is unique across users: registering it
-- again, as anyone, moves the row (same id) to that user. registered_at is the last time the
-- app registered it; the app does so at every start, so the least recently registered of a
-- user's devices is the one that goes when an eleventh arrives.
CREATE TABLE devices (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token         text NOT NULL CHECK (char_length(token) BETWEEN 1 AND 4096),
    platform      text NOT NULL CHECK (platform IN ('ios', 'android', 'web')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    registered_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT devices_token_key UNIQUE (token)
);
-- A user's devices, oldest registration first: the push fan-out and the eviction read one
-- range of it.
CREATE INDEX devices_user ON devices (user_id, registered_at, id);

-- What push delivery has done for each (event, device), so that a redelivered event never
-- sends to a device twice (realm.events.push). A row is a claim ('sending', taken before the
-- call to FCM and given back when FCM asks us to retry) or an outcome: 'sent', or 'refused'
-- when FCM refused the message itself (retrying it could never succeed). A claim left behind
-- by a crash may be taken again once it is older than the claim's lease.
--
-- Rows go with their device (a deleted token, a deleted account); the rest are swept once
-- older than the oldest event an event function still acts on (REALM_EVENT_MAX_AGE_SECONDS).
CREATE TABLE push_deliveries (
    event_id   uuid NOT NULL,
    device_id  bigint NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    state      text NOT NULL CHECK (state IN ('sending', 'sent', 'refused')),
    claimed_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz,
    PRIMARY KEY (event_id, device_id)
);
CREATE INDEX push_deliveries_device ON push_deliveries (device_id);
CREATE INDEX push_deliveries_age ON push_deliveries (claimed_at);
