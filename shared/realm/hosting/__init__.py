"""Parties and their invites: the host's and the guest's side of a party."""
