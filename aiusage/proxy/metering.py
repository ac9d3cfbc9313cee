"""Usage rows and charges, written off the response path.

The request handler places its hold synchronously (it decides 402 before forwarding) and
then hands a Settlement to the writer, which books a batch in one transaction: the usage
row, the ledger row with its balance change, the hold's release and the key's spend. On a
graceful shutdown the queue is drained before the process exits."""

from __future__ import annotations

import asyncio
import bisect
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.models import LATENCY_BUCKETS_MS, ProxyKey, UsageHourly, UsageRecord, utcnow
from aiusage.services import alerts, billing

log = logging.getLogger("aiusage.metering")
BATCH = 500


@dataclass
class Settlement:
    user_id: int
    key_id: int
    hold_nano: int
    key_hold_nano: int  # the part of the hold also placed on the key (keys with spend limits)
    charge_nano: int
    usage: dict[str, Any] = field(default_factory=dict)  # UsageRecord columns


class UsageWriter:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Settlement | None] = asyncio.Queue()  # None: stop
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, settlement: Settlement) -> None:
        self._idle.clear()
        self._queue.put_nowait(settlement)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="aiusage-usage-writer")

    async def stop(self) -> None:
        """Writes everything queued, then stops. The writer is asked to finish, never
        cancelled mid-transaction (that could leave SQLite's write lock held)."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
        while not self._queue.empty():  # submitted while stopping
            batch, _ = self._take_batch(self._queue.get_nowait())
            if batch:
                await self._write_with_retry(batch)
        self._idle.set()

    async def flushed(self) -> None:
        """Waits until everything submitted so far is written."""
        await self._idle.wait()

    def _take_batch(self, first: Settlement | None) -> tuple[list[Settlement], bool]:
        """`first` and what else is queued, up to BATCH; and whether a stop was asked."""
        batch: list[Settlement] = []
        stop = False
        item = first
        while True:
            if item is None:
                stop = True
            else:
                batch.append(item)
            if len(batch) >= BATCH or self._queue.empty():
                return batch, stop
            item = self._queue.get_nowait()

    async def _run(self) -> None:
        interval = get_settings().usage_flush_interval
        while True:
            first = await self._queue.get()
            if first is not None and interval and self._queue.qsize() < BATCH:
                # A batch has a fixed cost (one transaction, one rollup upsert...): gather
                # what arrives in the next moment rather than write rows one by one.
                await asyncio.sleep(interval)
            batch, stop = self._take_batch(first)
            if batch:
                await self._write_with_retry(batch)
            if self._queue.empty():
                self._idle.set()
            if stop:
                return

    async def _write_with_retry(self, batch: list[Settlement]) -> None:
        delay = 0.05
        while True:
            try:
                await write_batch(batch)
                return
            except asyncio.CancelledError:
                # The loop itself is going away: keep the batch for stop() to write.
                for settlement in batch:
                    self._queue.put_nowait(settlement)
                raise
            except Exception:  # keep the batch and retry: a charge is never dropped
                log.exception("writing %d usage rows failed; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


_ROLLUP_KEY = ("user_id", "proxy_key_id", "provider", "model", "hour")
_ROLLUP_SUMS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_nano",
    "charged_nano",
    "latency_ms_sum",
    *(f"lat_{i}" for i in range(len(LATENCY_BUCKETS_MS))),
)


def rollups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's usage rows summed per user, key, model and hour (what charts read)."""
    sums: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        hour = row["created_at"].replace(minute=0, second=0, microsecond=0)
        key = (row["user_id"], row["proxy_key_id"] or 0, row["provider"], row["model"], hour)
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = dict(zip(_ROLLUP_KEY, key, strict=True))
            entry.update(dict.fromkeys(_ROLLUP_SUMS, 0))
        entry["requests"] += 1
        entry["errors"] += row["status"] >= 400 or row["error_type"] is not None
        entry["input_tokens"] += row["input_tokens"]
        entry["output_tokens"] += row["output_tokens"]
        entry["cache_write_tokens"] += row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]
        entry["cache_read_tokens"] += row["cache_read_tokens"]
        entry["cost_nano"] += row["cost_nano"]
        entry["charged_nano"] += row["charged_nano"]
        entry["latency_ms_sum"] += row["latency_ms"]
        bucket = bisect.bisect_left(LATENCY_BUCKETS_MS, row["latency_ms"])
        entry[f"lat_{min(bucket, len(LATENCY_BUCKETS_MS) - 1)}"] += 1
    # Sorted: concurrent writers (several workers) then lock rows in one order, never a cycle.
    return [sums[key] for key in sorted(sums)]


async def add_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    values = rollups(rows)
    if not values:
        return
    insert = sqlite_insert if session.bind.dialect.name == "sqlite" else postgres_insert
    statement = insert(UsageHourly).values(values)
    table = UsageHourly.__table__.c
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(_ROLLUP_KEY),
            set_={name: table[name] + statement.excluded[name] for name in _ROLLUP_SUMS},
        )
    )


async def write_batch(batch: list[Settlement]) -> None:
    """One transaction for the whole batch, with set-based statements: the usage rows, their
    rollups, the ledger rows with their balance changes and hold releases, the keys' spend."""
    now = utcnow()
    rows = [{"user_id": s.user_id, "proxy_key_id": s.key_id, **s.usage} for s in batch]
    async with write_lock(), session_scope() as session:
        usage_ids = (
            (
                await session.execute(
                    sa_insert(UsageRecord).returning(UsageRecord.id, sort_by_parameter_order=True),
                    rows,
                )
            )
            .scalars()
            .all()
        )
        await add_rollups(session, rows)
        await billing.book_usage(
            session,
            [
                billing.UsageCharge(
                    s.user_id,
                    s.charge_nano,
                    s.hold_nano,
                    usage_id,
                    f"{row['provider']} {row['model']}",
                )
                for s, row, usage_id in zip(batch, rows, usage_ids, strict=True)
            ],
        )
        per_key: dict[int, list[int]] = {}
        for s in batch:
            spent_and_held = per_key.setdefault(s.key_id, [0, 0])
            spent_and_held[0] += s.charge_nano
            spent_and_held[1] += s.key_hold_nano
        for key_id, (spent, held) in sorted(per_key.items()):
            await session.execute(
                update(ProxyKey)
                .where(ProxyKey.id == key_id)
                .values(
                    last_used_at=now,
                    spent_nano=ProxyKey.spent_nano + spent,
                    held_nano=ProxyKey.held_nano - held,
                )
            )
        # Low-balance mails in this transaction; auto top-ups start after it commits.
        await alerts.after_charges(session, {s.user_id for s in batch if s.charge_nano})
