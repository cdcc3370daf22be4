"""The local stand-in for Firebase Auth: a signing key made on this machine, and tokens for any
user. Never used with ``REALM_ENV=cloud`` (the configuration refuses the key there)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from realm.config import Settings
from realm.edge.auth import LOCAL_KEY_ID, public_key_file


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ensure_key(path: Path) -> rsa.RSAPrivateKey:
    """Loads the local signing key, creating it (readable by its owner only) the first time,
    and makes sure its public half, which the functions verify with, is next to it."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = new_private_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    public = public_key_file(path)
    if not public.exists():
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


def mint(
    config: Settings,
    auth_uid: str,
    *,
    lifetime: int = 3600,
    key: rsa.RSAPrivateKey | None = None,
    **overrides: Any,
) -> str:
    """A token shaped like a Firebase ID token; ``overrides`` replace or add claims."""
    if config.local_key_file is None:
        raise RuntimeError("local tokens are not available in this environment")
    signing_key = key or ensure_key(config.local_key_file)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "aud": config.project_id,
        "auth_time": now,
        "user_id": auth_uid,
        "sub": auth_uid,
        "iat": now,
        "exp": now + lifetime,
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
    }
    claims.update(overrides)
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": LOCAL_KEY_ID})
