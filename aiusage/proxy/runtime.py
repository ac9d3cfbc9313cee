"""The proxy's process-wide parts: pooled upstream client, key cache, price book, usage
writer, per-key request counters. Started and stopped with the server's lifespan."""

from __future__ import annotations

import asyncio

from aiusage.db import session_scope
from aiusage.proxy.auth import KeyCache
from aiusage.proxy.holds import Holds
from aiusage.proxy.key_pool import PoolHealth
from aiusage.proxy.reclaim import run_leases, stop_task
from aiusage.proxy.upstream import UpstreamClient
from aiusage.proxy.usage_writer import UsageWriter
from aiusage.services import key_events
from aiusage.services.pricing import Price, PriceBook
from aiusage.services.shared_limits import SharedSlidingWindow, SharedTokenWindow


class ProxyRuntime:
    def __init__(self) -> None:
        self.client: UpstreamClient | None = None
        self.keys = KeyCache()
        self.prices = PriceBook()
        self.writer = UsageWriter()
        self.holds = Holds()
        # Per key, shared by every instance through Redis when configured (else per process).
        self.rpm = SharedSlidingWindow("rpm", window_seconds=60)
        self.tpm = SharedTokenWindow("tpm", window_seconds=60)
        # A guard against hammering the unmetered routes (model lists, token counts): per key,
        # shared like the rpm limits.
        self.unmetered_rpm = SharedSlidingWindow("unmetered", window_seconds=60)
        self.pool_health = PoolHealth()
        self._leases: asyncio.Task[None] | None = None
        self._key_changes: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self.client is not None

    async def start(self) -> None:
        if self.client is None:
            self.client = UpstreamClient()
            await self.holds.start()
            self.writer.start(self.holds.lane)
            self._leases = asyncio.create_task(
                run_leases(self.holds, self.writer, PriceBook()), name="aiusage-hold-leases"
            )
            key_events.on_change(self.keys.forget)
            self._key_changes = asyncio.create_task(
                key_events.listen(self.keys.forget), name="aiusage-key-changes"
            )

    async def stop(self) -> None:
        """Graceful: every queued usage row and charge is written before returning (or kept
        for the next start if that takes longer than `usage_stop_timeout`)."""
        await stop_task(self._leases)
        await stop_task(self._key_changes)
        self._leases = self._key_changes = None
        await self.pool_health.drain()
        await self.writer.stop()
        await self.holds.stop()
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def current_prices(self) -> PriceBook:
        if self.prices.stale():
            async with session_scope() as session:
                await self.prices.reload(session)
        return self.prices

    async def price(self, provider: str, model: str) -> Price:
        return (await self.current_prices()).lookup(provider, model)


runtime = ProxyRuntime()
