"""Random tokens, their hashes, password hashing and keyed hashes of client IPs."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import anyio
from passlib.context import CryptContext

from aiusage.config import get_settings

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _passwords.hash(secrets.token_urlsafe(16))


def new_token(nbytes: int = 32) -> str:
    """An opaque, URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """What the database keeps of a token: SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def ip_hash(ip: str | None) -> str:
    """Client IPs are stored only as an HMAC with a server secret."""
    if not ip:
        return ""
    return hmac.new(get_settings().secret_key_bytes, ip.encode(), hashlib.sha256).hexdigest()


async def hash_password(password: str) -> str:
    # Argon2 takes tens of milliseconds of CPU: keep it off the event loop.
    return await anyio.to_thread.run_sync(_passwords.hash, password)


# passlib refuses longer secrets (PasswordSizeError); no password we accept comes near it.
MAX_PASSWORD_BYTES = 4096


def _checkable(password: str) -> bool:
    try:
        return len(password.encode("utf-8")) <= MAX_PASSWORD_BYTES
    except UnicodeEncodeError:  # a lone surrogate: no hash was ever made of it
        return False


async def verify_password(password: str, hashed: str | None) -> bool:
    """Whether `password` matches `hashed`. A password that could never have been hashed (too
    long for passlib, not encodable) matches nothing, after the same work as a real check."""
    if not _checkable(password):
        password, hashed = "", None
    return (
        await anyio.to_thread.run_sync(_passwords.verify, password, hashed or _DUMMY_HASH)
        and hashed is not None
    )
