-- A user's profile photo is always one of their own photos: the foreign key from users to
-- photos now includes the owner, so no statement (whatever the code above it does) can make
-- one user's photo another user's profile photo.

ALTER TABLE photos ADD CONSTRAINT photos_id_owner_key UNIQUE (id, owner_id);

ALTER TABLE users DROP CONSTRAINT users_photo_fk;
ALTER TABLE users ADD CONSTRAINT users_photo_owner_fk
    FOREIGN KEY (photo_id, id) REFERENCES photos (id, owner_id);
