"""Log-in failure counts kept in Redis, so every app instance throttles the same attacker
(services/throttle.py holds the rules; this module only stores and fetches the counts).

One hash per counted key, `{f: failures, l: time of the last failure}`, expiring after the
table's longest memory (its maximum delay plus its quiet window). A failure is counted by a
Lua script, so two instances counting at once both count. Every method answers None (or
False) when Redis cannot be used; the throttle then counts in its process."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from aiusage.services.redis_link import PREFIX, RedisLink

if TYPE_CHECKING:
    from aiusage.services.throttle import FailureTable


@dataclass(slots=True)
class Count:
    failures: int
    last: float


# KEYS[1]: the count; ARGV: now, free failures, maximum delay, quiet window (seconds), TTL ms.
# The same rule as FailureTable.fail: a count quiet for its delay plus the window restarts.
_FAIL = """
local failures = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
local now = tonumber(ARGV[1])
local first = math.max(tonumber(ARGV[2]), 1)
if failures > 0 then
  local delay = 0
  if failures >= first then
    delay = math.min(2 ^ math.min(failures - first, 40), tonumber(ARGV[3]))
  end
  if now - last > delay + tonumber(ARGV[4]) then failures = 0 end
end
redis.call('HSET', KEYS[1], 'f', failures + 1, 'l', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return failures + 1
"""
_FAIL_DIGEST = hashlib.sha1(_FAIL.encode(), usedforsecurity=False).hexdigest()


def _name(table: str, key: bytes) -> str:
    return f"{PREFIX}login:{table}:{key.hex()}"


def _count(fields: list[Any]) -> Count | None:
    failures, last = fields
    if failures is None or last is None:
        return None
    return Count(int(failures), float(last))


class SharedCounts:
    def __init__(self, link: RedisLink) -> None:
        self.link = link

    async def read(self, keys: list[tuple[str, bytes]]) -> list[Count | None] | None:
        """The counts of (table, key) pairs, in one round trip."""

        async def run(client: Redis) -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for table, key in keys:
                    pipe.hmget(_name(table, key), ["f", "l"])
                return await pipe.execute()

        found = await self.link.call(run)
        return None if found is None else [_count(fields) for fields in found]

    async def fail(self, counts: list[tuple[str, bytes, FailureTable, int]], now: float) -> bool:
        """Counts one failure on each (table, key, its rules, free failures); False when Redis
        could not count them."""

        async def run(client: Redis) -> bool:
            calls = [
                (
                    _name(table, key),
                    repr(now),
                    free,
                    rules.maximum_delay,
                    rules.window,
                    int((rules.maximum_delay + rules.window) * 1000) + 1000,
                )
                for table, key, rules, free in counts
            ]
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for call in calls:
                        pipe.evalsha(_FAIL_DIGEST, 1, *call)
                    await pipe.execute()
            except NoScriptError:
                async with client.pipeline(transaction=False) as pipe:
                    for call in calls:
                        pipe.eval(_FAIL, 1, *call)
                    await pipe.execute()
            return True

        return bool(await self.link.call(run))

    async def clear(self, table: str, key: bytes) -> None:
        await self.link.call(lambda client: client.delete(_name(table, key)))
