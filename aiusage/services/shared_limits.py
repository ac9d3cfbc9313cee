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
import math
import os
import time
from collections import deque
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from aiusage.services.ratelimit import TokenWindow
from aiusage.services.redis_link import PREFIX, RedisLink, shared_redis

# KEYS[1]: the window, KEYS[2]: this Redis's boot marker; ARGV: limit, window ms, a unique
# member, a new marker, the marker the caller last saw ('' for none). Counts the hit if under
# the limit; answers {wait, marker}. The marker (set by the first script to find none)
# changes when Redis lost its data (a restart): then the answer is {-2, marker}, nothing
# counted, for the caller to put its hits back first.
_TRY_HIT = """
local marker = redis.call('GET', KEYS[2])
if not marker then
  redis.call('SET', KEYS[2], ARGV[4])
  marker = ARGV[4]
end
if ARGV[5] ~= '' and ARGV[5] ~= marker then
  return {-2, marker}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {0, marker}
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000)), marker}
"""

# KEYS[1]: the window; ARGV: window ms, then (ms, member) pairs: hits put back (a member
# Redis still has is only rewritten, so putting back twice counts once).
_PUT_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
for i = 2, #ARGV - 1, 2 do
  if tonumber(ARGV[i]) > now - window then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[i]), ARGV[i + 1])
  end
end
redis.call('PEXPIRE', KEYS[1], window)
return 0
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
    for script in (_TRY_HIT, _PUT_BACK, _TOKENS_WAIT, _TOKENS_ADD)
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

    async def _run(self, script: str, keys: list[str], *args: Any) -> Any | None:
        """The script's answer, or None when Redis cannot be used."""
        link = self.link
        if link is None:
            return None
        names = [name if name.startswith(PREFIX) else self.prefix + name for name in keys]

        async def run(client: Redis) -> Any:
            # By digest (the script is not resent each time); loaded on a Redis that lacks it.
            # (redis-py types the asyncio client's commands as `Awaitable[T] | T`.)
            try:
                return await client.evalsha(_DIGESTS[script], len(names), *names, *args)  # type: ignore[misc]
            except NoScriptError:
                return await client.eval(script, len(names), *names, *args)  # type: ignore[misc]

        return await link.call(run)

    async def _script(self, script: str, key: str, *args: Any) -> int | None:
        result = await self._run(script, [key], *args)
        return None if result is None else int(result)


class HitLog:
    """This process's own counted hits per key: when each was counted (wall-clock ms, as
    Redis's clock) and the member Redis knows it by. Decides alone while Redis is away, and
    is put back into Redis after an outage, so a restarted Redis (which forgot the minute)
    counts them again: with hits counted during the outage, a key gets at most its limit
    plus what the processes allowed on their own while Redis was away."""

    def __init__(self, window_ms: int, max_keys: int = 100_000) -> None:
        self.window_ms = window_ms
        self.max_keys = max_keys
        self._hits: dict[str, deque[tuple[int, str]]] = {}

    def live(self, key: str, now_ms: int) -> deque[tuple[int, str]]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1][0] > now_ms - self.window_ms
                }
                if len(self._hits) >= self.max_keys:
                    self._hits.clear()
            hits = self._hits[key] = deque()
        while hits and hits[0][0] <= now_ms - self.window_ms:
            hits.popleft()
        return hits

    def add(self, key: str, now_ms: int, member: str) -> None:
        self.live(key, now_ms).append((now_ms, member))

    def try_hit(self, key: str, limit: int, now_ms: int, member: str) -> int:
        hits = self.live(key, now_ms)
        if len(hits) < limit:
            hits.append((now_ms, member))
            return 0
        return max(1, math.ceil((hits[len(hits) - limit][0] + self.window_ms - now_ms) / 1000))


def _now_ms() -> int:
    return int(time.time() * 1000)


BOOT_MARKER = PREFIX + "boot"


class SharedSlidingWindow(_Shared):
    """Requests per key over a sliding window (the proxy's rpm limits)."""

    def __init__(self, name: str, window_seconds: float = 60, link: RedisLink | None = None):
        super().__init__(name, window_seconds, link)
        self.local = HitLog(self.window_ms)
        # key -> (Redis's boot marker, the link's epoch) when its hits were last in Redis.
        self._synced: dict[str, tuple[str, int]] = {}

    async def try_hit(self, key: str, limit: int) -> int:
        """Counts a hit if allowed and returns 0; otherwise returns seconds to wait."""
        member, now_ms = _unique(), _now_ms()
        link = self.link
        synced = self._synced.get(key)
        # This process counted alone for a while (an outage it saw): its hits go back first.
        if (
            link is not None
            and (not link.up or (synced is not None and synced[1] != link.epoch))
            and not await self._put_back(key, now_ms)
        ):
            return self.local.try_hit(key, limit, now_ms, member)
        known = synced[0] if synced is not None else ""
        for _ in range(2):
            answer = await self._run(
                _TRY_HIT, [key, BOOT_MARKER], limit, self.window_ms, member, _unique(), known
            )
            if answer is None or link is None:
                return self.local.try_hit(key, limit, now_ms, member)
            wait, known = int(answer[0]), _text(answer[1])
            if wait != _PUT_BACK_FIRST:
                break
            # Redis restarted and forgot the window: this process's hits go back first.
            if not await self._put_back(key, now_ms):
                return self.local.try_hit(key, limit, now_ms, member)
        else:
            return self.local.try_hit(key, limit, now_ms, member)
        if len(self._synced) >= self.local.max_keys:
            self._synced.clear()
        self._synced[key] = (known, link.epoch)
        if wait == 0:
            self.local.add(key, now_ms, member)
        return wait

    async def _put_back(self, key: str, now_ms: int) -> bool:
        """This process's hits of the window into Redis (each once, however often sent)."""
        hits = [part for hit in self.local.live(key, now_ms) for part in hit]
        return not hits or await self._run(_PUT_BACK, [key], self.window_ms, *hits) == 0


_PUT_BACK_FIRST = -2


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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
