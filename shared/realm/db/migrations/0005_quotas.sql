-- Per-user write quotas (realm.db.quotas), kept here so that they hold across every instance
-- of every function. The subject is a SHA-256 of the caller's Firebase uid, not the uid: a
-- quota must outlive an account deletion (or deleting and signing up again would reset it), and
-- nothing personal may; rows older than the longest quota period are swept away.

-- One row per (subject, action): spending locks it, so that concurrent spends of one subject
-- are counted one after the other.
CREATE TABLE quota_subjects (
    subject  text NOT NULL,
    action   text NOT NULL,
    swept_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, action)
);

-- Every spend, so that "at most N per period" holds for every period, not per calendar window.
CREATE TABLE quota_spends (
    subject  text NOT NULL,
    action   text NOT NULL,
    spent_at timestamptz NOT NULL DEFAULT now(),
    amount   integer NOT NULL CHECK (amount > 0),
    FOREIGN KEY (subject, action) REFERENCES quota_subjects ON DELETE CASCADE
);
CREATE INDEX quota_spends_window ON quota_spends (subject, action, spent_at);
