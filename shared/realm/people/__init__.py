"""Users and their profiles."""
