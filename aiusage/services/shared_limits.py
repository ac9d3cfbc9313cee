"""Per-key windows counted in Redis when it is there (one count for every instance and
worker), in this process when it is not, or while it is down (services/redis_link.py).

Each window is a sorted set of hits scored by Redis's own clock in milliseconds, changed
only by a Lua script, so a check-and-count is one atomic step across all instances and
instances' clocks never disagree. Same answers as the in-process `SlidingWindow` and
`TokenWindow` (services/ratelimit.py): 0 = allowed, else whole seconds to wait."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from aiusage.services.ratelimit import SlidingWindow, TokenWindow
from aiusage.services.redis_link import PREFIX, RedisLink, shared_redis

# KEYS[1]: the window; ARGV: limit, window ms, a unique member. Counts the hit if under limit.
_TRY_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000))
"""

# KEYS[1]: the window; ARGV: limit, window ms. Members are "<unique>:<tokens>".
_TOKENS_WAIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local total = 0
for i = 1, #used, 2 do
  total = total + tonumber(string.match(used[i], ':(%d+)$'))
end
if total < limit then return 0 end
for i = 1, #used, 2 do
  total = total - tonumber(string.match(used[i], ':(%d+)$'))
  if total < limit then
    return math.max(1, math.ceil((tonumber(used[i + 1]) + window - now) / 1000))
  end
end
return 1
"""

# KEYS[1]: the window; ARGV: window ms, member.
_TOKENS_ADD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
"""

_DIGESTS = {  # Redis names a loaded script by its SHA-1
    script: hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    for script in (_TRY_HIT, _TOKENS_WAIT, _TOKENS_ADD)
}

_PROCESS = os.urandom(6).hex()  # with the counter: a member no other hit anywhere has
_counter = itertools.count()


def _unique() -> str:
    return f"{_PROCESS}{next(_counter):x}"


class _Shared:
    def __init__(self, name: str, window_seconds: float, link: RedisLink | None) -> None:
        self.prefix = f"{PREFIX}{name}:"
        self.window_ms = int(window_seconds * 1000)
        self._link = link

    @property
    def link(self) -> RedisLink | None:
        return self._link if self._link is not None else shared_redis()

    async def _script(self, script: str, key: str, *args: Any) -> int | None:
        link = self.link
        if link is None:
            return None
        name = self.prefix + key

        async def run(client: Redis) -> Any:
            # By digest (the script is not resent each time); loaded on a Redis that lacks it.
            try:
                # (redis-py types the asyncio client's commands as `Awaitable[T] | T`.)
                return await client.evalsha(_DIGESTS[script], 1, name, *args)  # type: ignore[misc]
            except NoScriptError:
                return await client.eval(script, 1, name, *args)  # type: ignore[misc]

        result = await link.call(run)
        return None if result is None else int(result)


class SharedSlidingWindow(_Shared):
    """Requests per key over a sliding window (the proxy's rpm limits)."""

    def __init__(self, name: str, window_seconds: float = 60, link: RedisLink | None = None):
        super().__init__(name, window_seconds, link)
        self.local = SlidingWindow(limit=0, window_seconds=window_seconds)

    async def try_hit(self, key: str, limit: int) -> int:
        """Counts a hit if allowed and returns 0; otherwise returns seconds to wait."""
        shared = await self._script(_TRY_HIT, key, limit, self.window_ms, _unique())
        if shared is None:
            return self.local.try_hit(key, limit)
        if shared == 0:
            # Also counted here, so that if Redis goes away this process's window already
            # holds its own share of the last minute instead of starting from nothing.
            self.local.hit(key)
        return shared


class SharedTokenWindow(_Shared):
    """Tokens per key over a sliding window (the proxy's tpm limits)."""

    def __init__(self, name: str, window_seconds: float = 60, link: RedisLink | None = None):
        super().__init__(name, window_seconds, link)
        self.local = TokenWindow(window_seconds=window_seconds)
        self._adding: set[asyncio.Task[None]] = set()  # referenced until done

    async def retry_after(self, key: str, limit: int) -> int:
        shared = await self._script(_TOKENS_WAIT, key, limit, self.window_ms)
        return self.local.retry_after(key, limit) if shared is None else shared

    async def add(self, key: str, tokens: int) -> None:
        if tokens <= 0:
            return
        member = f"{_unique()}:{int(tokens)}"
        await self._script(_TOKENS_ADD, key, self.window_ms, member)
        self.local.add(key, tokens)  # in Redis or not: the fallback starts from this process's

    def add_soon(self, key: str, tokens: int) -> None:
        """`add` from synchronous code (the settlement): at once in this process, or as a
        task when the count goes to Redis."""
        if self.link is None:
            self.local.add(key, tokens)
        elif tokens > 0:
            task = asyncio.get_running_loop().create_task(self.add(key, tokens))
            self._adding.add(task)
            task.add_done_callback(self._adding.discard)
