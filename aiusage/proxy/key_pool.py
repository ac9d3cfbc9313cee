"""A user's provider keys as a pool: the order a request tries them in, and what the proxy
learns from their answers.

Keys are tried by priority (lowest first), by weight among equal priorities (a weighted
draw per request); a key cooling down after repeated failures goes last; a key the provider
refused (401) is not tried until its owner replaces it. A request that gets 401, 429, 529 or
a 5xx from one key before any byte reached the client is retried on the next (handler.py).
What is learned is kept in the database (the dashboard shows it, every instance reads it
within the key cache's second) and, at once, in this process."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models import ProviderKey, utcnow
from aiusage.services.keys import PoolKey

log = logging.getLogger("aiusage.proxy")

FAILURES_BEFORE_COOLDOWN = 3  # consecutive failures that take a key out for a while


def retried_on_next_key(status: int) -> bool:
    """An answer that says this key cannot serve now, where another key may."""
    return status in (401, 429, 529) or status >= 500


class PoolHealth:
    """What this process learned about pool keys since their cached state was loaded."""

    def __init__(self) -> None:
        # By key id, with the secret's nonce: a replaced secret is a new key, judged afresh.
        self._cooling_until: dict[int, tuple[bytes, int]] = {}  # -> (nonce, until ms)
        self._invalid: dict[int, bytes] = {}  # -> nonce
        # Consecutive failures this process saw since the pool was loaded: the loaded count
        # is up to a key cache's second old, and a cool-down applies at once.
        self._failures: dict[int, tuple[bytes, int]] = {}  # -> (nonce, count)
        self._tasks: set[asyncio.Task[None]] = set()

    def order(self, pool: tuple[PoolKey, ...], rng: random.Random | None = None) -> list[PoolKey]:
        """The keys to try, in order: healthy ones by priority and weight, cooling ones
        after them; refused (invalid) ones not at all."""
        now = int(time.time() * 1000)
        draw = rng or random
        usable = [k for k in pool if not k.invalid and self._invalid.get(k.id) != k.sealed.nonce]

        def cooling(key: PoolKey) -> bool:
            nonce, until = self._cooling_until.get(key.id, (b"", 0))
            learned = until if nonce == key.sealed.nonce else 0
            return max(key.unhealthy_until_ms, learned) > now

        ordered: list[PoolKey] = []
        for group in ([k for k in usable if not cooling(k)], [k for k in usable if cooling(k)]):
            for priority in sorted({k.priority for k in group}):
                ordered += _weighted_shuffle([k for k in group if k.priority == priority], draw)
        return ordered

    def _consecutive(self, key: PoolKey) -> int:
        nonce, count = self._failures.get(key.id, (b"", -1))
        return count if nonce == key.sealed.nonce and count >= 0 else key.failures

    def failed(self, key: PoolKey, status: int) -> None:
        """Records a failure: 401 marks the key invalid; three in a row cool it down."""
        consecutive = self._consecutive(key) + 1
        self._failures[key.id] = (key.sealed.nonce, consecutive)
        if status == 401:
            self._invalid[key.id] = key.sealed.nonce
        elif consecutive >= FAILURES_BEFORE_COOLDOWN:
            until = int(time.time() * 1000) + self._cooldown_ms()
            self._cooling_until[key.id] = (key.sealed.nonce, until)
        self._spawn(_record_failure(key.id, status, self._cooldown_ms()))

    def succeeded(self, key: PoolKey) -> None:
        """A key that answers: its failures in a row start over (here and in the database)."""
        had = self._consecutive(key)
        self._failures[key.id] = (key.sealed.nonce, 0)
        self._cooling_until.pop(key.id, None)
        if had or key.failures:
            self._spawn(_record_success(key.id))

    @staticmethod
    def _cooldown_ms() -> int:
        return int(get_settings().provider_key_cooldown_seconds * 1000)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class _Draw(Protocol):
    """random.Random, or the random module itself."""

    def random(self) -> float: ...


def _weighted_shuffle(keys: list[PoolKey], draw: _Draw) -> list[PoolKey]:
    """Keys in a random order where a key of weight w comes first w times as often."""
    rand = draw.random
    return sorted(keys, key=lambda k: -(rand() ** (1.0 / k.weight)))


async def _record_failure(key_id: int, status: int, cooldown_ms: int) -> None:
    try:
        now_ms = int(time.time() * 1000)
        async with session_scope() as session:
            await session.execute(
                update(ProviderKey)
                .where(col(ProviderKey.id) == key_id)
                .values(
                    failures=col(ProviderKey.failures) + 1,
                    last_error=f"HTTP {status}",
                    invalid_at=utcnow() if status == 401 else col(ProviderKey.invalid_at),
                    unhealthy_until_ms=_cooling_after_failure(now_ms + cooldown_ms),
                )
            )
    except Exception:  # health is advice: a failed write must not fail anything else
        log.warning("could not record a provider key's failure", exc_info=True)


def _cooling_after_failure(until_ms: int) -> object:
    from sqlalchemy import case

    return case(
        (col(ProviderKey.failures) + 1 >= FAILURES_BEFORE_COOLDOWN, until_ms),
        else_=col(ProviderKey.unhealthy_until_ms),
    )


async def _record_success(key_id: int) -> None:
    try:
        async with session_scope() as session:
            await session.execute(
                update(ProviderKey)
                .where(col(ProviderKey.id) == key_id)
                .values(failures=0, unhealthy_until_ms=0)
            )
    except Exception:
        log.warning("could not record a provider key's recovery", exc_info=True)
