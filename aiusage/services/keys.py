"""Proxy keys (what tools send) and provider keys (the user's own upstream keys)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.models import ProviderKey, ProxyKey, User, utcnow
from aiusage.services import crypto
from aiusage.services.errors import NotFound, ServiceError
from aiusage.services.security import token_hash
from aiusage.services.text import checked_text

PROXY_KEY_PREFIX = "sk-aiu-"
VISIBLE_CHARS = 8  # of the random part, kept so the user can recognise the key
PROVIDERS = ("anthropic", "openai")
_PROVIDER_KEY_FORMAT = {
    "anthropic": re.compile(r"^sk-ant-[A-Za-z0-9_\-]{20,300}$"),
    "openai": re.compile(r"^sk-[A-Za-z0-9_\-]{20,300}$"),
}


# --- proxy keys ---------------------------------------------------------------------------


def hash_proxy_key(plaintext: str) -> str:
    return token_hash(plaintext)


async def create_proxy_key(
    session: AsyncSession,
    user_id: int,
    name: str,
    *,
    spend_limit_nano: int | None = None,
    rpm_limit: int | None = None,
) -> tuple[ProxyKey, str]:
    """A new key; the plaintext is returned once and never stored."""
    name = checked_text(name, code="bad_name", max_chars=100)
    if not name:
        raise ServiceError("name_required", "Give the key a name.")
    if spend_limit_nano is not None and spend_limit_nano <= 0:
        raise ServiceError("bad_limit", "A spend limit must be more than zero.")
    if rpm_limit is not None and not 0 < rpm_limit <= 100_000:
        raise ServiceError("bad_limit", "A requests-per-minute limit must be 1 to 100000.")
    plaintext = PROXY_KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    key = ProxyKey(
        user_id=user_id,
        name=name,
        prefix=plaintext[: len(PROXY_KEY_PREFIX) + VISIBLE_CHARS],
        key_hash=hash_proxy_key(plaintext),
        spend_limit_nano=spend_limit_nano,
        rpm_limit=rpm_limit,
    )
    session.add(key)
    await session.flush()
    return key, plaintext


async def list_proxy_keys(session: AsyncSession, user_id: int) -> list[ProxyKey]:
    result = await session.execute(
        select(ProxyKey).where(ProxyKey.user_id == user_id).order_by(ProxyKey.id.desc())
    )
    return list(result.scalars())


async def revoke_proxy_key(session: AsyncSession, user_id: int, key_id: int) -> None:
    """Revokes the user's own key; another user's key id is simply not found."""
    result = await session.execute(
        update(ProxyKey)
        .where(ProxyKey.id == key_id, ProxyKey.user_id == user_id, ProxyKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount != 1:
        raise NotFound("key_not_found", "No such active key.")


async def active_key_by_hash(session: AsyncSession, key_hash: str) -> tuple[ProxyKey, User] | None:
    row = (
        await session.execute(
            select(ProxyKey, User)
            .join(User, User.id == ProxyKey.user_id)
            .where(ProxyKey.key_hash == key_hash)
        )
    ).first()
    if row is None:
        return None
    key, user = row
    if key.revoked_at is not None or user.closed_at is not None:
        return None
    return key, user


# --- provider keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderKeyInfo:
    provider: str
    last4: str


def _check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise ServiceError("bad_provider", "The provider must be anthropic or openai.")
    return provider


def validate_provider_key(provider: str, plaintext: str) -> str:
    plaintext = (plaintext or "").strip()
    if not _PROVIDER_KEY_FORMAT[_check_provider(provider)].match(plaintext):
        hint = "sk-ant-…" if provider == "anthropic" else "sk-…"
        raise ServiceError("bad_key_format", f"That does not look like a {provider} key ({hint}).")
    return plaintext


async def set_provider_key(
    session: AsyncSession, user_id: int, provider: str, plaintext: str
) -> ProviderKeyInfo:
    plaintext = validate_provider_key(provider, plaintext)
    sealed = crypto.seal(plaintext, user_id, provider)
    row = (
        await session.execute(
            select(ProviderKey).where(
                ProviderKey.user_id == user_id, ProviderKey.provider == provider
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = ProviderKey(
            user_id=user_id,
            provider=provider,
            master_key_id="",
            nonce=b"",
            ciphertext=b"",
            last4="",
        )
        session.add(row)
    row.master_key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    row.last4 = plaintext[-4:]
    row.updated_at = utcnow()
    await session.flush()
    return ProviderKeyInfo(provider, row.last4)


async def list_provider_keys(session: AsyncSession, user_id: int) -> list[ProviderKeyInfo]:
    result = await session.execute(
        select(ProviderKey).where(ProviderKey.user_id == user_id).order_by(ProviderKey.provider)
    )
    return [ProviderKeyInfo(row.provider, row.last4) for row in result.scalars()]


async def delete_provider_key(session: AsyncSession, user_id: int, provider: str) -> None:
    row = (
        await session.execute(
            select(ProviderKey).where(
                ProviderKey.user_id == user_id, ProviderKey.provider == _check_provider(provider)
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("key_not_found", f"No {provider} key is stored.")
    await session.delete(row)


async def sealed_provider_keys(session: AsyncSession, user_id: int) -> dict[str, crypto.Sealed]:
    """The user's provider keys, still sealed (the proxy opens one per forward)."""
    result = await session.execute(select(ProviderKey).where(ProviderKey.user_id == user_id))
    return {
        row.provider: crypto.Sealed(row.master_key_id, row.nonce, row.ciphertext)
        for row in result.scalars()
    }


async def rotate_master_key(session: AsyncSession) -> int:
    """Re-seals every provider key with the active master key; returns how many changed."""
    active = get_settings().active_key_id
    rows = (
        (await session.execute(select(ProviderKey).where(ProviderKey.master_key_id != active)))
        .scalars()
        .all()
    )
    for row in rows:
        plaintext = crypto.open_sealed(
            crypto.Sealed(row.master_key_id, row.nonce, row.ciphertext), row.user_id, row.provider
        )
        sealed = crypto.seal(plaintext, row.user_id, row.provider)
        row.master_key_id, row.nonce, row.ciphertext = (
            sealed.key_id,
            sealed.nonce,
            sealed.ciphertext,
        )
    return len(rows)
