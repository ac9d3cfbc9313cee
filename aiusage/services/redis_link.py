"""The Redis every instance shares (`AIUSAGE_REDIS_URL`), for the limits and the key-change
announcements that must hold across processes.

Redis is an accelerator, never a dependency of a request: every use goes through `call`,
which answers None when Redis is not configured, is down, or does not answer within
`REDIS_TIMEOUT_SECONDS`; the caller then does the per-process thing it did before Redis.
An outage is logged once when it starts and once when Redis is back. While Redis is down it
is tried again at most every `RETRY_SECONDS`, so a missing Redis costs one refused connect per
second per process, not one per request."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from aiusage.config import get_settings

log = logging.getLogger("aiusage.redis")

REDIS_TIMEOUT_SECONDS = 0.25  # loopback or LAN: a live Redis answers in well under 1 ms
RETRY_SECONDS = 1.0
PREFIX = "aiusage:"  # every key and channel of ours, beside Reflex's state in the same Redis

T = TypeVar("T")


class RedisLink:
    """One asyncio client per event loop (a client's connections belong to the loop that
    opened them), and the up/down state shared by them all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}
        self._down_since: float | None = None
        self._retry_at = 0.0
        # Counts the outages this process has seen end: what was counted meanwhile, or lost
        # by a restarted Redis, is put back by those who keep a copy (shared_limits).
        self.epoch = 0

    @property
    def up(self) -> bool:
        return self._down_since is None

    def client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            for old in [other for other in self._clients if other.is_closed()]:
                del self._clients[old]
            found = self._clients[loop] = aioredis.Redis.from_url(
                self.url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                # No silent reconnect-and-retry: a Redis that restarted shows here as one
                # failure, so the epoch moves and the lost windows are put back.
                retry=Retry(NoBackoff(), 0),
                health_check_interval=30,
            )
        return found

    async def call(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T | None:
        """`operation`'s result, or None when Redis cannot be used right now."""
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return None
        try:
            result = await asyncio.wait_for(operation(self.client()), REDIS_TIMEOUT_SECONDS * 2)
        except (RedisError, OSError, TimeoutError) as error:
            self.failed(error)
            return None
        self.succeeded()
        return result

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self._retry_at = now + RETRY_SECONDS
        if self._down_since is None:
            self._down_since = now
            # The error's class only: a connection error's text may carry the URL's password.
            log.warning(
                "Redis is unavailable (%s); limits count per process until it is back",
                type(error).__name__,
            )

    def succeeded(self) -> None:
        if self._down_since is not None:
            log.warning(
                "Redis is back after %.1f s; limits are shared again",
                time.monotonic() - self._down_since,
            )
            self._down_since = None
            self.epoch += 1


@functools.cache
def shared_redis() -> RedisLink | None:
    """The process's link, or None when no Redis is configured (one instance: in-process)."""
    url = get_settings().redis_url
    return RedisLink(url) if url else None


async def shared_call(operation: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any | None:
    link = shared_redis()
    return None if link is None else await link.call(operation)
