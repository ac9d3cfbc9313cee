"""Proxy keys (what tools send) and provider keys (the user's own upstream keys)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.models import ProviderKey, ProxyKey, User, utcnow
from aiusage.services import crypto, key_rules
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


# Everything the owner sets on a key besides its name; None clears a rule.
RULES = (
    "spend_limit_nano",
    "rpm_limit",
    "tpm_limit",
    "budget_nano",
    "budget_period",
    "allowed_models",
    "allowed_networks",
    "expires_at",
    "budget_alerts",
)


def checked_rules(rules: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The given rules checked and normalised into column values (only those given)."""
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ServiceError("bad_rule", f"Unknown key setting: {sorted(unknown)[0]}.")
    out: dict[str, Any] = {}
    for name in ("spend_limit_nano", "budget_nano"):
        if name in rules:
            value = rules[name]
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ServiceError("bad_limit", "A spend limit or budget must be more than zero.")
            out[name] = value
    for name, top in (("rpm_limit", 100_000), ("tpm_limit", 1_000_000_000)):
        if name in rules:
            value = rules[name]
            if value is not None and (not isinstance(value, int) or not 0 < value <= top):
                per = "requests" if name == "rpm_limit" else "tokens"
                raise ServiceError("bad_limit", f"A {per}-per-minute limit must be 1 to {top}.")
            out[name] = value
    if "budget_period" in rules:
        period = rules["budget_period"] or None
        if period is not None and period not in key_rules.PERIODS:
            raise ServiceError("bad_period", "A budget period is day, week or month.")
        out["budget_period"] = period
    if "allowed_models" in rules:
        out["allowed_models"] = ",".join(key_rules.model_patterns(rules["allowed_models"])) or None
    if "allowed_networks" in rules:
        networks = key_rules.networks(rules["allowed_networks"])
        out["allowed_networks"] = ",".join(str(n) for n in networks) or None
    if "budget_alerts" in rules:
        out["budget_alerts"] = ",".join(map(str, key_rules.alert_percents(rules["budget_alerts"])))
    if "expires_at" in rules:
        expires = rules["expires_at"]
        if expires is not None and (not isinstance(expires, datetime) or expires.tzinfo is None):
            raise ServiceError("bad_expiry", "An expiry is a date and time in UTC.")
        if expires is not None and expires <= (now or utcnow()):
            raise ServiceError("bad_expiry", "An expiry must be in the future.")
        out["expires_at"] = expires
    return out


def _budget_complete(key: ProxyKey) -> None:
    if (key.budget_nano is None) != (key.budget_period is None):
        raise ServiceError(
            "bad_budget", "A budget needs both an amount and a period (day, week or month)."
        )


async def create_proxy_key(
    session: AsyncSession, user_id: int, name: str, **rules: Any
) -> tuple[ProxyKey, str]:
    """A new key; the plaintext is returned once and never stored. `rules`: see RULES."""
    name = _key_name(name)
    plaintext = PROXY_KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    key = ProxyKey(
        user_id=user_id,
        name=name,
        prefix=plaintext[: len(PROXY_KEY_PREFIX) + VISIBLE_CHARS],
        key_hash=hash_proxy_key(plaintext),
        **checked_rules(rules),
    )
    _budget_complete(key)
    session.add(key)
    await session.flush()
    return key, plaintext


def _key_name(name: str) -> str:
    name = checked_text(name, code="bad_name", max_chars=100)
    if not name:
        raise ServiceError("name_required", "Give the key a name.")
    return name


async def _own_live_key(session: AsyncSession, user_id: int, key_id: int) -> ProxyKey:
    key = await session.get(ProxyKey, key_id)
    if key is None or key.user_id != user_id or key.revoked_at is not None:
        raise NotFound("key_not_found", "No such active key.")
    return key


async def update_proxy_key(
    session: AsyncSession, user_id: int, key_id: int, *, name: str | None = None, **rules: Any
) -> ProxyKey:
    """Renames the user's own key and/or changes the rules given (None clears one). A revoked
    key, or another user's, is not found. The proxy applies the change within the key cache's
    lifetime."""
    key = await _own_live_key(session, user_id, key_id)
    if name is not None:
        key.name = _key_name(name)
    for column, value in checked_rules(rules).items():
        setattr(key, column, value)
    _budget_complete(key)
    await session.flush()
    return key


async def set_key_enabled(session: AsyncSession, user_id: int, key_id: int, enabled: bool) -> None:
    """Disables (refused with 401, nothing else changes) or enables the user's own key."""
    key = await _own_live_key(session, user_id, key_id)
    key.disabled_at = None if enabled else (key.disabled_at or utcnow())
    await session.flush()


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


async def key_by_hash(session: AsyncSession, key_hash: str) -> tuple[ProxyKey, User] | None:
    """A key that is not revoked, of an open account (an expired or disabled one included:
    the proxy tells its user why it is refused)."""
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
