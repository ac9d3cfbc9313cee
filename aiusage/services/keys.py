"""Proxy keys (what tools send) and provider keys (the user's own upstream keys)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.models import ProviderKey, ProxyKey, UsageRecord, User, utcnow
from aiusage.services import crypto, key_events, key_rules
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
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise ServiceError("bad_limit", "A spend limit or budget must be more than zero.")
            out[name] = value
    for name, top in (("rpm_limit", 100_000), ("tpm_limit", 1_000_000_000)):
        if name in rules:
            value = rules[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= top
            ):
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
    checked = checked_rules(rules)
    for column, value in checked.items():
        setattr(key, column, value)
    _budget_complete(key)
    if "budget_period" in checked or "budget_nano" in checked:
        await _count_period_spend(session, key, utcnow())
    await session.flush()
    key_events.changed(session, user_id)
    return key


async def _count_period_spend(session: AsyncSession, key: ProxyKey, now: datetime) -> None:
    """A budget set or changed mid-period counts what the key already spent in it (from its
    usage rows: the booked truth), so a new daily budget does not start from zero at noon."""
    if key.budget_period is None:
        key.period_spent_nano, key.period_start_ms = 0, 0
        return
    start = key_rules.period_start(key.budget_period, now)
    spent = (
        await session.execute(
            select(func.coalesce(func.sum(col(UsageRecord.charged_nano)), 0)).where(
                col(UsageRecord.user_id) == key.user_id,
                col(UsageRecord.proxy_key_id) == key.id,
                col(UsageRecord.created_at) >= start,
            )
        )
    ).scalar_one()
    key.period_spent_nano = int(spent)
    key.period_start_ms = key_rules.period_start_ms(key.budget_period, now)


async def set_key_enabled(session: AsyncSession, user_id: int, key_id: int, enabled: bool) -> None:
    """Disables (refused with 401, nothing else changes) or enables the user's own key."""
    key = await _own_live_key(session, user_id, key_id)
    key.disabled_at = None if enabled else (key.disabled_at or utcnow())
    await session.flush()
    key_events.changed(session, user_id)


async def list_proxy_keys(session: AsyncSession, user_id: int) -> list[ProxyKey]:
    result = await session.execute(
        select(ProxyKey).where(col(ProxyKey.user_id) == user_id).order_by(col(ProxyKey.id).desc())
    )
    return list(result.scalars())


async def revoke_proxy_key(session: AsyncSession, user_id: int, key_id: int) -> None:
    """Revokes the user's own key; another user's key id is simply not found."""
    result = await session.execute(
        update(ProxyKey)
        .where(
            col(ProxyKey.id) == key_id,
            col(ProxyKey.user_id) == user_id,
            col(ProxyKey.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if rowcount(result) != 1:
        raise NotFound("key_not_found", "No such active key.")
    key_events.changed(session, user_id)


async def key_by_hash(session: AsyncSession, key_hash: str) -> tuple[ProxyKey, User] | None:
    """A key that is not revoked, of an open account (an expired or disabled one included:
    the proxy tells its user why it is refused)."""
    row = (
        await session.execute(
            select(ProxyKey, User)
            .join(User, col(User.id) == col(ProxyKey.user_id))
            .where(col(ProxyKey.key_hash) == key_hash)
        )
    ).first()
    if row is None:
        return None
    key, user = row
    if key.revoked_at is not None or user.closed_at is not None:
        return None
    return key, user


# --- provider keys ------------------------------------------------------------------------


MAX_POOL_KEYS = 10  # per user and provider


@dataclass(frozen=True)
class ProviderKeyInfo:
    """A stored provider key as its owner sees it: never the secret, its last four only."""

    provider: str
    last4: str
    id: int = 0
    label: str = ""
    priority: int = 1
    weight: int = 1
    state: str = "ok"  # "ok" | "cooling" (failing: skipped for a while) | "invalid" (401)
    last_error: str | None = None
    unhealthy_until: datetime | None = None


@dataclass(frozen=True)
class PoolKey:
    """One key of a user's pool as the proxy holds it: still sealed, with its health."""

    id: int
    provider: str
    label: str
    last4: str
    priority: int
    weight: int
    sealed: crypto.Sealed
    failures: int
    unhealthy_until_ms: int
    invalid: bool


def _info(row: ProviderKey, now: datetime | None = None) -> ProviderKeyInfo:
    now = now or utcnow()
    cooling = row.unhealthy_until_ms > int(now.timestamp() * 1000)
    return ProviderKeyInfo(
        provider=row.provider,
        last4=row.last4,
        id=row.id or 0,
        label=row.label,
        priority=row.priority,
        weight=row.weight,
        state="invalid" if row.invalid_at else "cooling" if cooling else "ok",
        last_error=row.last_error,
        unhealthy_until=(
            datetime.fromtimestamp(row.unhealthy_until_ms / 1000, UTC) if cooling else None
        ),
    )


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


def _pool_settings(label: str | None, priority: int | None, weight: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if label is not None:
        out["label"] = checked_text(label, code="bad_label", max_chars=64)
    if priority is not None:
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 100:
            raise ServiceError("bad_priority", "A priority is a whole number from 1 to 100.")
        out["priority"] = priority
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
            raise ServiceError("bad_weight", "A weight is a whole number from 1 to 100.")
        out["weight"] = weight
    return out


def _seal_into(row: ProviderKey, plaintext: str) -> None:
    """A new secret for the row: its health starts afresh (a replaced key is a new key)."""
    sealed = crypto.seal(plaintext, row.user_id, row.provider)
    row.master_key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    row.last4 = plaintext[-4:]
    row.updated_at = utcnow()
    row.failures, row.last_error, row.unhealthy_until_ms, row.invalid_at = 0, None, 0, None


async def _pool(session: AsyncSession, user_id: int, provider: str) -> list[ProviderKey]:
    result = await session.execute(
        select(ProviderKey)
        .where(col(ProviderKey.user_id) == user_id, col(ProviderKey.provider) == provider)
        .order_by(col(ProviderKey.priority), col(ProviderKey.id))
    )
    return list(result.scalars())


async def add_provider_key(
    session: AsyncSession,
    user_id: int,
    provider: str,
    plaintext: str,
    *,
    label: str = "",
    priority: int | None = None,
    weight: int = 1,
) -> ProviderKeyInfo:
    """Adds a key to the user's pool for `provider` (after the others unless `priority`)."""
    plaintext = validate_provider_key(provider, plaintext)
    pool = await _pool(session, user_id, provider)
    if len(pool) >= MAX_POOL_KEYS:
        raise ServiceError("pool_full", f"At most {MAX_POOL_KEYS} keys per provider.")
    settings = _pool_settings(label, priority, weight)
    settings.setdefault("priority", min(max((k.priority for k in pool), default=0) + 1, 100))
    row = ProviderKey(
        user_id=user_id,
        provider=provider,
        master_key_id="",
        nonce=b"",
        ciphertext=b"",
        last4="",
        **settings,
    )
    _seal_into(row, plaintext)
    session.add(row)
    await session.flush()
    key_events.changed(session, user_id)
    return _info(row)


async def set_provider_key(
    session: AsyncSession, user_id: int, provider: str, plaintext: str
) -> ProviderKeyInfo:
    """The user's key for `provider`: replaces the first key of the pool, or adds one."""
    plaintext = validate_provider_key(provider, plaintext)
    pool = await _pool(session, user_id, provider)
    if not pool:
        return await add_provider_key(session, user_id, provider, plaintext)
    _seal_into(pool[0], plaintext)
    await session.flush()
    key_events.changed(session, user_id)
    return _info(pool[0])


async def _own_provider_key(session: AsyncSession, user_id: int, key_id: int) -> ProviderKey:
    row = await session.get(ProviderKey, key_id)
    if row is None or row.user_id != user_id:
        raise NotFound("key_not_found", "No such provider key.")
    return row


async def update_provider_key(
    session: AsyncSession,
    user_id: int,
    key_id: int,
    *,
    plaintext: str | None = None,
    label: str | None = None,
    priority: int | None = None,
    weight: int | None = None,
) -> ProviderKeyInfo:
    """Changes one of the user's own pool keys: its secret (which clears what the proxy
    learned about the old one), label, priority or weight."""
    row = await _own_provider_key(session, user_id, key_id)
    for column, value in _pool_settings(label, priority, weight).items():
        setattr(row, column, value)
    if plaintext is not None:
        _seal_into(row, validate_provider_key(row.provider, plaintext))
    await session.flush()
    key_events.changed(session, user_id)
    return _info(row)


async def list_provider_keys(session: AsyncSession, user_id: int) -> list[ProviderKeyInfo]:
    result = await session.execute(
        select(ProviderKey)
        .where(col(ProviderKey.user_id) == user_id)
        .order_by(col(ProviderKey.provider), col(ProviderKey.priority), col(ProviderKey.id))
    )
    now = utcnow()
    return [_info(row, now) for row in result.scalars()]


async def delete_provider_key(session: AsyncSession, user_id: int, provider: str) -> None:
    """Deletes every key of the user's pool for `provider`."""
    pool = await _pool(session, user_id, _check_provider(provider))
    if not pool:
        raise NotFound("key_not_found", f"No {provider} key is stored.")
    for row in pool:
        await session.delete(row)
    key_events.changed(session, user_id)


async def delete_provider_key_by_id(session: AsyncSession, user_id: int, key_id: int) -> None:
    await session.delete(await _own_provider_key(session, user_id, key_id))
    key_events.changed(session, user_id)


async def pooled_provider_keys(
    session: AsyncSession, user_id: int
) -> dict[str, tuple[PoolKey, ...]]:
    """The user's provider keys by provider, in pool order, still sealed."""
    result = await session.execute(
        select(ProviderKey)
        .where(col(ProviderKey.user_id) == user_id)
        .order_by(col(ProviderKey.priority), col(ProviderKey.id))
    )
    pools: dict[str, list[PoolKey]] = {}
    for row in result.scalars():
        pools.setdefault(row.provider, []).append(
            PoolKey(
                id=row.id or 0,
                provider=row.provider,
                label=row.label,
                last4=row.last4,
                priority=row.priority,
                weight=row.weight,
                sealed=crypto.Sealed(row.master_key_id, row.nonce, row.ciphertext),
                failures=row.failures,
                unhealthy_until_ms=row.unhealthy_until_ms,
                invalid=row.invalid_at is not None,
            )
        )
    return {provider: tuple(pool) for provider, pool in pools.items()}


async def rotate_master_key(session: AsyncSession) -> int:
    """Re-seals every provider key with the active master key; returns how many changed."""
    active = get_settings().active_key_id
    rows = (
        (await session.execute(select(ProviderKey).where(col(ProviderKey.master_key_id) != active)))
        .scalars()
        .all()
    )
    for row in rows:
        crypto.reseal(row, crypto.provider_key_aad(row.user_id, row.provider))
    return len(rows)
