"""Realm's shared data layer: every Cloud Function imports what it needs from here."""
