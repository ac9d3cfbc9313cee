"""Announcing that a user's proxy-key grants changed, so every proxy process drops them from
its key cache at once instead of after the cache's lifetime.

A grant changes when a key is revoked, disabled, enabled or edited, when its owner's provider
keys change, and when the account is suspended, unsuspended or closed. The service making
the change calls `changed(session, user_id)`; the announcement goes out after the session's
transaction commits (`db.after_commit`): announced before, a proxy could reload the old row
and cache it again.

It reaches this process's key cache directly, and, when Redis is configured, every other
instance and worker through a pub/sub channel (`listen`, run by each proxy runtime). A
process that was not subscribed for a while (Redis restarted, the connection dropped) may
have missed announcements: on every (re)subscription it drops its whole cache. Without Redis,
or while it is down, other processes see the change when their cache entries expire
(`AIUSAGE_KEY_CACHE_TTL`, 1 s by default)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.db import after_commit
from aiusage.services.redis_link import PREFIX, RETRY_SECONDS, shared_call, shared_redis

log = logging.getLogger("aiusage.key_events")

CHANNEL = PREFIX + "key-changes"
_PENDING = "aiusage.key_changes"  # the session's set of users whose grants changed

# Called with the users whose grants changed, or None for "forget everything".
Forget = Callable[[frozenset[int] | None], None]
_listeners: list[Forget] = []


def on_change(forget: Forget) -> None:
    """`forget` is called in this process for every announcement (the proxy's key cache)."""
    if forget not in _listeners:
        _listeners.append(forget)


def changed(session: AsyncSession, user_id: int) -> None:
    """Marks `user_id`'s grants changed, announced once the session commits."""
    pending: set[int] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()
        after_commit(session, lambda: announce(frozenset(pending)))
    pending.add(int(user_id))


def _tell_listeners(user_ids: frozenset[int] | None) -> None:
    for forget in _listeners:
        try:
            forget(user_ids)
        except Exception:  # a cache that cannot forget still expires its entries
            log.exception("a key-change listener failed")


async def announce(user_ids: frozenset[int]) -> None:
    """Tells this process at once and, through Redis, every other; never raises."""
    if not user_ids:
        return
    _tell_listeners(user_ids)
    message = ",".join(str(user_id) for user_id in sorted(user_ids))
    await shared_call(lambda client: client.publish(CHANNEL, message))


def _parse(data: bytes) -> frozenset[int] | None:
    try:
        return frozenset(int(part) for part in data.decode("ascii").split(","))
    except (UnicodeDecodeError, ValueError):
        return None  # not ours or garbled: forgetting everything is always safe


async def listen(forget: Forget) -> None:
    """Runs until cancelled: calls `forget` for every announcement from any process.
    Nothing to do without Redis."""
    link = shared_redis()
    if link is None:
        return
    while True:
        # Its own client: no retries hidden inside redis-py, so a dropped subscription shows
        # here and the cache is emptied for what may have been missed.
        client = aioredis.Redis.from_url(
            link.url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            link.succeeded()
            forget(None)
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    forget(_parse(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            link.failed(error)
            await asyncio.sleep(RETRY_SECONDS / 2)
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                await client.aclose()
            except Exception:
                log.debug("closing the key-change subscription failed")
