"""Photos: checks at the door, the media store, image rendering, and the URLs responses carry.
Imports the ground modules, ``db`` and ``events``, never a feature group."""
