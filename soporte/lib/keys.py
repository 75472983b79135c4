"""Secret keys shown once and stored hashed (API tokens, inventory enrollment tokens):
`<prefix><key id>_<secret>`, the key id to find the row, only a hash of the secret kept."""

from __future__ import annotations

import hashlib
import secrets

HEX = frozenset("0123456789abcdef")


def new_key(prefix: str) -> tuple[str, str, str]:
    """(key id, hash of the secret, the full key to show once)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, hash_secret(secret), f"{prefix}{key_id}_{secret}"


def split_key(key: str, prefix: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None. Key ids are hex: anything else
    cannot match, and a NUL byte would make PostgreSQL fail the query."""
    if not key.startswith(prefix):
        return None
    key_id, _sep, secret = key[len(prefix) :].partition("_")
    if not secret or not key_id or len(key_id) > 16 or not set(key_id) <= HEX:
        return None
    return key_id, secret


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough: no dictionary to try.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(key_hash: str, secret: str) -> bool:
    return secrets.compare_digest(key_hash, hash_secret(secret))
