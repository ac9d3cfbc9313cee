"""Per-key windows counted in Redis when it is there (one count for every instance and
worker), in this process when it is not, or while it is down (services/redis_link.py).

Each window is a sorted set of hits scored by Redis's own clock in milliseconds, changed
only by a Lua script, so a check-and-count is one atomic step across all instances and
instances' clocks never disagree. Same answers as the in-process `SlidingWindow`
(services/ratelimit.py): 0 = allowed, else whole seconds to wait. Each process also keeps its
own hits: to decide alone while Redis is away, and to put them back after an outage or a
Redis restart."""

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

from aiusage.services.redis_link import PREFIX, RedisLink, shared_redis

# Every script that counts starts here. KEYS[2]: this Redis's boot marker; ARGV[1]: a new
# marker, ARGV[2]: the marker the caller last saw ('' for none). The marker (set by the first
# script to find none) changes when Redis lost its data (a restart): then the answer is
# {-2, marker}, nothing done, for the caller to put its hits back first. Otherwise the script
# answers {its answer, marker}.
_MARKED = """
local marker = redis.call('GET', KEYS[2])
if not marker then
  redis.call('SET', KEYS[2], ARGV[1])
  marker = ARGV[1]
end
if ARGV[2] ~= '' and ARGV[2] ~= marker then
  return {-2, marker}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1]: the window; ARGV[3..]: limit, window ms, a unique member. Counts the hit if under
# the limit (0), else the seconds to wait.
_TRY_HIT = (
    _MARKED
    + """
local window = tonumber(ARGV[4])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window)
  return {0, marker}
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000)), marker}
"""
)

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

# KEYS[1]: the window; ARGV[3..]: limit, window ms. Members are "<unique>:<tokens>". 0 while
# the window's tokens are under the limit, else the seconds until they are.
_TOKENS_WAIT = (
    _MARKED
    + """
local window = tonumber(ARGV[4])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local total = 0
for i = 1, #used, 2 do
  total = total + tonumber(string.match(used[i], ':(%d+)$'))
end
if total < limit then return {0, marker} end
for i = 1, #used, 2 do
  total = total - tonumber(string.match(used[i], ':(%d+)$'))
  if total < limit then
    return {math.max(1, math.ceil((tonumber(used[i + 1]) + window - now) / 1000)), marker}
  end
end
return {1, marker}
"""
)

# KEYS[1]: the window; ARGV[3..]: window ms, member.
_TOKENS_ADD = (
    _MARKED
    + """
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {0, marker}
"""
)

_DIGESTS = {  # Redis names a loaded script by its SHA-1
    script: hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    for script in (_TRY_HIT, _PUT_BACK, _TOKENS_WAIT, _TOKENS_ADD)
}

_PROCESS = os.urandom(6).hex()  # with the counter: a member no other hit anywhere has
_counter = itertools.count()


def _unique() -> str:
    return f"{_PROCESS}{next(_counter):x}"


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

    def tokens_wait(self, key: str, limit: int, now_ms: int) -> int:
        """For members "<unique>:<tokens>": 0 while the window's tokens are under `limit`,
        else the seconds until they are (the oldest uses leave the window first)."""
        used = [(at, int(member.rsplit(":", 1)[1])) for at, member in self.live(key, now_ms)]
        total = sum(tokens for _, tokens in used)
        if total < limit:
            return 0
        for at, tokens in used:
            total -= tokens
            if total < limit:
                return max(1, math.ceil((at + self.window_ms - now_ms) / 1000))
        return 1


def _now_ms() -> int:
    return int(time.time() * 1000)


BOOT_MARKER = PREFIX + "boot"
_PUT_BACK_FIRST = -2


class _Window:
    """A window counted in Redis with this process's own hits kept in `local`: it decides
    alone while Redis is away, and its hits go back into Redis after an outage this process
    saw or a Redis restart (the boot marker), before the next script counts."""

    def __init__(self, name: str, window_seconds: float = 60, link: RedisLink | None = None):
        self.prefix = f"{PREFIX}{name}:"
        self.window_ms = int(window_seconds * 1000)
        self._link = link
        self.local = HitLog(self.window_ms)
        # key -> (Redis's boot marker, the link's epoch) when its hits were last in Redis.
        self._synced: dict[str, tuple[str, int]] = {}

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

    async def _marked(self, script: str, key: str, now_ms: int, *args: Any) -> int | None:
        """The answer of a `_MARKED` script, run once this process's hits are in Redis;
        None when Redis cannot be used (the caller decides in the process)."""
        link = self.link
        if link is None:
            return None
        synced = self._synced.get(key)
        # This process counted alone for a while (an outage it saw): its hits go back first.
        if (not link.up or (synced is not None and synced[1] != link.epoch)) and not (
            await self._put_back(key, now_ms)
        ):
            return None
        known = synced[0] if synced is not None else ""
        for _ in range(2):
            answer = await self._run(script, [key, BOOT_MARKER], _unique(), known, *args)
            if answer is None:
                return None
            value, known = int(answer[0]), _text(answer[1])
            if value != _PUT_BACK_FIRST:
                break
            # Redis restarted and forgot the window: this process's hits go back first.
            if not await self._put_back(key, now_ms):
                return None
        else:
            return None
        if len(self._synced) >= self.local.max_keys:
            self._synced.clear()
        self._synced[key] = (known, link.epoch)
        return value

    async def _put_back(self, key: str, now_ms: int) -> bool:
        """This process's hits of the window into Redis (each once, however often sent)."""
        hits = [part for hit in self.local.live(key, now_ms) for part in hit]
        return not hits or await self._run(_PUT_BACK, [key], self.window_ms, *hits) == 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SharedSlidingWindow(_Window):
    """Requests per key over a sliding window (the proxy's rpm limits)."""

    async def try_hit(self, key: str, limit: int) -> int:
        """Counts a hit if allowed and returns 0; otherwise returns seconds to wait."""
        member, now_ms = _unique(), _now_ms()
        wait = await self._marked(_TRY_HIT, key, now_ms, limit, self.window_ms, member)
        if wait is None:
            return self.local.try_hit(key, limit, now_ms, member)
        if wait == 0:
            self.local.add(key, now_ms, member)
        return wait


class SharedTokenWindow(_Window):
    """Tokens per key over a sliding window (the proxy's tpm limits): a request is refused
    while the window's tokens have reached the limit."""

    def __init__(self, name: str, window_seconds: float = 60, link: RedisLink | None = None):
        super().__init__(name, window_seconds, link)
        self._adding: set[asyncio.Task[None]] = set()  # referenced until done

    async def retry_after(self, key: str, limit: int) -> int:
        now_ms = _now_ms()
        wait = await self._marked(_TOKENS_WAIT, key, now_ms, limit, self.window_ms)
        return self.local.tokens_wait(key, limit, now_ms) if wait is None else wait

    async def add(self, key: str, tokens: int) -> None:
        if tokens <= 0:
            return
        member, now_ms = f"{_unique()}:{int(tokens)}", _now_ms()
        await self._marked(_TOKENS_ADD, key, now_ms, self.window_ms, member)
        self.local.add(key, now_ms, member)  # in Redis or not: to decide alone, to put back

    def add_soon(self, key: str, tokens: int) -> None:
        """`add` from synchronous code (the settlement): at once in this process, or as a
        task when the count goes to Redis."""
        if tokens <= 0:
            return
        if self.link is None:
            self.local.add(key, _now_ms(), f"{_unique()}:{int(tokens)}")
        else:
            task = asyncio.get_running_loop().create_task(self.add(key, tokens))
            self._adding.add(task)
            task.add_done_callback(self._adding.discard)
