"""Secrets handed out inside URLs (invite links, calendar feeds): random, 32 bytes, and stored
only as their SHA-256, so that a copy of the database opens nothing."""

from __future__ import annotations

import hashlib
import secrets

_BYTES = 32


def new() -> str:
    """A fresh token, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(_BYTES)


def digest(token: str) -> bytes:
    """What is stored and looked up. Any string hashes (a lone surrogate too): a malformed
    token is looked up like any other and simply not found."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
