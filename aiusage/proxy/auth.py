"""Proxy-key authentication from an in-memory cache.

Entries (including "no such key") live `key_cache_ttl` seconds (1 s by default), so a revoked
key stops working within that time on every instance without a database read per request.
A change announced by the services (services/key_events.py: in this process directly, in
others through Redis) drops the owner's entries at once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models.base import id_of
from aiusage.services import key_rules, keys

MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class KeyGrant:
    """What the proxy needs to know about a key (no plaintext secrets) and its rules."""

    key_id: int
    user_id: int
    rpm_limit: int | None
    spend_limit_nano: int | None
    provider_keys: dict[str, tuple[keys.PoolKey, ...]]  # the user's own, in pool order
    tpm_limit: int | None = None
    budget_nano: int | None = None
    budget_period: str | None = None
    allowed_models: tuple[str, ...] = ()
    allowed_networks: tuple[key_rules.Network, ...] = ()
    expires_at: datetime | None = None
    disabled: bool = False
    suspended: bool = False  # the account, by an operator

    @property
    def holds_on_key(self) -> bool:
        """The key's own hold is kept when a spend limit or a budget must hold under load."""
        return self.spend_limit_nano is not None or self.budget_nano is not None


class KeyCache:
    """Keys by hash. One load per key at a time: requests that find an entry expiring
    while a reload runs share that reload instead of each querying the database."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, KeyGrant | None]] = {}
        self._loading: dict[str, asyncio.Future[KeyGrant | None]] = {}
        self._generation = 0  # counts `forget`s: a load that spans one is not cached

    async def lookup(self, presented: str) -> KeyGrant | None:
        key_hash = keys.hash_proxy_key(presented)
        hit = self._entries.get(key_hash)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        pending = self._loading.get(key_hash)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyGrant | None] = asyncio.get_running_loop().create_future()
        self._loading[key_hash] = future
        generation = self._generation
        try:
            grant = await self._load(key_hash)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # marks it retrieved when nobody else was waiting
            raise
        finally:
            self._loading.pop(key_hash, None)
        if generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + get_settings().key_cache_ttl, grant)
        future.set_result(grant)
        return grant

    async def _load(self, key_hash: str) -> KeyGrant | None:
        async with session_scope() as session:
            found = await keys.key_by_hash(session, key_hash)
            if found is None:
                return None
            key, user = found
            pools = await keys.pooled_provider_keys(session, id_of(user))
        return KeyGrant(
            id_of(key),
            id_of(user),
            key.rpm_limit,
            key.spend_limit_nano,
            pools,
            tpm_limit=key.tpm_limit,
            budget_nano=key.budget_nano,
            budget_period=key.budget_period,
            # Stored already checked: parsed again only to get the values.
            allowed_models=key_rules.model_patterns(key.allowed_models),
            allowed_networks=key_rules.networks(key.allowed_networks),
            expires_at=key.expires_at,
            disabled=key.disabled_at is not None,
            suspended=user.suspended_at is not None,
        )

    def clear(self) -> None:
        self._entries.clear()

    def forget(self, user_ids: frozenset[int] | None) -> None:
        """Drops the cached grants of these users (all entries for None). A load under way
        may have read the rows before the change: its result is not cached."""
        self._generation += 1
        if user_ids is None:
            self._entries.clear()
            return
        for key_hash in [
            key_hash
            for key_hash, (_, grant) in self._entries.items()
            if grant is not None and grant.user_id in user_ids
        ]:
            del self._entries[key_hash]


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    """The proxy key from `x-api-key` or `Authorization: Bearer` (what each SDK sends)."""
    value = headers.get(b"x-api-key")
    if not value:
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            value = auth[7:].strip()
    if not value or len(value) > 256:
        return None
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        return None
