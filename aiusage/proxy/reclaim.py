"""Booking the holds of processes that died with requests in flight.

Every live instance, every third of the hold lease: renews the leases of its own holds, then
looks for holds whose lease has run out (their owner stopped renewing: it crashed or was
killed) and hands each to the usage writer as an interrupted request: input estimated from
the request's size (marked estimated; never more than its hold), no output seen. The writer
takes a hold row only while its lease is still expired, in the transaction that books it, so
two instances reclaiming at once, or an owner that comes back, book it exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope
from aiusage.models import Hold
from aiusage.proxy.holds import Holds, now_ms
from aiusage.proxy.usage_counts import CHARS_PER_TOKEN
from aiusage.proxy.usage_writer import Settlement, UsageWriter, counted_columns, write_batch
from aiusage.services import pricing

log = logging.getLogger("aiusage.reclaim")
BATCH = 500


def interrupted(hold: Hold, price: pricing.Price, ended_ms: int) -> Settlement:
    counts = pricing.TokenCounts(
        input=math.ceil(hold.request_bytes / CHARS_PER_TOKEN), estimated=True
    )
    cost = pricing.cost_nano(price, counts)
    charge = min(pricing.charge_nano(cost, byok=hold.byok), hold.amount_nano)
    return Settlement(
        user_id=hold.user_id,
        key_id=hold.proxy_key_id,
        hold_nano=hold.amount_nano,
        key_hold_nano=hold.key_amount_nano,
        charge_nano=charge,
        reclaimed=True,
        usage=dict(
            request_id=hold.request_id,
            created_at=datetime.fromtimestamp(hold.started_ms / 1000, UTC),
            provider=hold.provider,
            endpoint=hold.endpoint,
            model=hold.model,
            key_source="byok" if hold.byok else "platform",
            **counted_columns(counts),
            cost_nano=cost,
            charged_nano=charge,
            priced_by_default=price.is_default,
            status=502,
            error_type="interrupted",
            latency_ms=max(0, min(ended_ms - hold.started_ms, 2**31 - 1)),
            ttfb_ms=None,
            request_bytes=min(hold.request_bytes, 2**31 - 1),
            response_bytes=0,
            streamed=False,
            ip_hash="",
            user_agent="",
            client_session_id=None,
        ),
    )


async def expired_holds(limit: int = BATCH) -> list[Hold]:
    async with session_scope() as session:
        rows = await session.execute(
            select(Hold)
            .where(col(Hold.lease_until_ms) < now_ms())
            .order_by(col(Hold.started_ms))
            .limit(limit)
        )
        return list(rows.scalars())


async def reclaim_expired(
    writer: UsageWriter, prices: pricing.PriceBook, handed: set[str] | None = None
) -> int:
    """Hands the expired holds to the writer; returns how many. `handed`: request ids handed
    over by earlier calls and perhaps not booked yet (not handed twice; it is kept current)."""
    holds = await expired_holds()
    handed = set() if handed is None else handed
    handed.intersection_update(hold.request_id for hold in holds)
    fresh = [hold for hold in holds if hold.request_id not in handed]
    if not fresh:
        return 0
    async with session_scope() as session:
        await prices.reload(session)
    ended = now_ms()
    for hold in fresh:
        writer.submit(interrupted(hold, prices.lookup(hold.provider, hold.model), ended))
        handed.add(hold.request_id)
    log.warning("booking %d requests of stopped instances as interrupted", len(fresh))
    return len(fresh)


async def reclaim_now() -> int:
    """Books every expired hold at once (the operator's `aiusage holds reclaim`)."""
    prices = pricing.PriceBook()
    async with session_scope() as session:
        await prices.reload(session)
    booked = 0
    while holds := await expired_holds():
        ended = now_ms()
        await write_batch(
            [interrupted(h, prices.lookup(h.provider, h.model), ended) for h in holds]
        )
        booked += len(holds)
    return booked


async def run_leases(holds: Holds, writer: UsageWriter, prices: pricing.PriceBook) -> None:
    """Renews this process's leases and reclaims dead ones', until cancelled."""
    period = get_settings().hold_lease_seconds / 3
    handed: set[str] = set()
    while True:
        await asyncio.sleep(period * random.uniform(0.8, 1.0))  # spreads the instances
        try:
            await holds.renew()
            await reclaim_expired(writer, prices, handed)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is away: try again next period
            log.exception("renewing or reclaiming holds failed")


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
