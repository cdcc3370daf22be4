-- Who hosts a party: its host and its co-hosts, one row each.
--
-- The hosting screen holds the parties a user hosts or co-hosts, soonest first; with both kinds
-- in one table (and the party's first entry copied, as invites do) it is one range of one index
-- per user. The host's row is written by a trigger on parties, so that no path that creates a
-- party (the API, the seed, a test, a benchmark fill) can leave it out; co-host rows are
-- written by add-cohost. The foreign key keeps the copied first entry true when a party moves.

CREATE TABLE party_hosts (
    party_id          bigint NOT NULL,
    party_first_entry timestamptz NOT NULL,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role              text NOT NULL CHECK (role IN ('host', 'cohost')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (party_id, user_id),
    FOREIGN KEY (party_id, party_first_entry) REFERENCES parties (id, first_entry)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX party_hosts_list ON party_hosts (user_id, party_first_entry, party_id);
-- At most one host per party.
CREATE UNIQUE INDEX party_hosts_one_host ON party_hosts (party_id) WHERE role = 'host';

CREATE FUNCTION realm_party_host_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM party_hosts WHERE party_id = NEW.id AND role = 'host' AND user_id <> NEW.host_id;
    INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)
    VALUES (NEW.id, NEW.first_entry, NEW.host_id, 'host')
    ON CONFLICT (party_id, user_id) DO UPDATE SET role = 'host';
    RETURN NULL;
END
$$;

CREATE TRIGGER parties_host_row_insert AFTER INSERT ON parties
    FOR EACH ROW EXECUTE FUNCTION realm_party_host_row();
CREATE TRIGGER parties_host_row_update AFTER UPDATE OF host_id ON parties
    FOR EACH ROW WHEN (OLD.host_id IS DISTINCT FROM NEW.host_id)
    EXECUTE FUNCTION realm_party_host_row();

INSERT INTO party_hosts (party_id, party_first_entry, user_id, role)
SELECT id, first_entry, host_id, 'host' FROM parties;
