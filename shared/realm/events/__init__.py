"""Events: the transactional outbox, the relay to Pub/Sub, receiving pushed events, and the
notifications they become. Imports the ground modules and ``db``, never a feature group (the
features reach events through the event types they write)."""
