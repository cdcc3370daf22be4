"""Local stand-ins for the cloud, started by ``make run`` and ``make test``: never imported by a
deployed function."""
