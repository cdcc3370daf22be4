"""Accounts: a user's devices, deleting an account (and erasing what it left outside
PostgreSQL), and exporting everything stored about a user."""
