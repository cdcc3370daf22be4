"""Accounts: a user's devices (and, later, deleting an account and exporting its data)."""
