"""The usage rollups the dashboards read: each batch's usage rows summed per user, key,
provider, model and hour (`usage_hourly`) and per daily period of each phase (`usage_daily`),
upserted in the usage writer's transaction (the SQLite lane's plain-SQL batch writes the same
rows: proxy/plain_batch.py)."""

from __future__ import annotations

import bisect
import functools
from datetime import UTC
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.db import dialect_name
from aiusage.models import (
    LATENCY_BUCKETS_MS,
    ROLLUP_SUMS,
    UsageDaily,
    UsageHourly,
    period_starts,
)
from aiusage.models.base import table_of
from aiusage.services.pricing import fee_nano

_ROLLUP_KEY = ("user_id", "proxy_key_id", "provider", "model", "hour")


def rollups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's usage rows summed per user, key, model and hour (what charts read)."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        hour = row["created_at"].replace(minute=0, second=0, microsecond=0)
        key = (row["user_id"], row["proxy_key_id"] or 0, row["provider"], row["model"], hour)
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = dict(zip(_ROLLUP_KEY, key, strict=True))
            entry.update(dict.fromkeys(ROLLUP_SUMS, 0))
        entry["requests"] += 1
        entry["errors"] += row["status"] >= 400 or row["error_type"] is not None
        entry["input_tokens"] += row["input_tokens"]
        entry["output_tokens"] += row["output_tokens"]
        entry["cache_write_tokens"] += row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]
        entry["cache_read_tokens"] += row["cache_read_tokens"]
        entry["cost_nano"] += row["cost_nano"]
        entry["charged_nano"] += row["charged_nano"]
        entry["fee_nano"] += fee_nano(
            row["cost_nano"], row["charged_nano"], byok=row["key_source"] == "byok"
        )
        entry["latency_ms_sum"] += row["latency_ms"]
        bucket = bisect.bisect_left(LATENCY_BUCKETS_MS, row["latency_ms"])
        entry[f"lat_{min(bucket, len(LATENCY_BUCKETS_MS) - 1)}"] += 1
    # Sorted: concurrent writers (several workers) then lock rows in one order, never a cycle.
    return [sums[key] for key in sorted(sums)]


def daily_rollups(hourly: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hourly rollups summed per daily period of each phase (the `usage_daily` rows), sorted
    likewise."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in hourly:
        for day in period_starts(entry["hour"].astimezone(UTC)):
            key = (*(entry[name] for name in _ROLLUP_KEY[:-1]), day)
            found = sums.get(key)
            if found is None:
                sums[key] = {**entry, "day": day}
                del sums[key]["hour"]
            else:
                for name in ROLLUP_SUMS:
                    found[name] += entry[name]
    return [sums[key] for key in sorted(sums)]


@functools.cache
def _rollup_upsert(dialect: str, period: str) -> Any:
    """One statement per dialect and rollup table, executed with the batch's rows as
    parameters (executemany): compiled once. Built with `.values(rows)` it was built, keyed
    and compiled anew every batch (measured on SQLite, 300 rollup rows: 320 ms against
    27 ms, in the event loop), and the daily rows are 4 per hourly one."""
    model = UsageHourly if period == "hour" else UsageDaily
    upsert = sqlite_insert if dialect == "sqlite" else postgres_insert
    statement = upsert(table_of(model))
    table = table_of(model).c
    return statement.on_conflict_do_update(
        index_elements=[*_ROLLUP_KEY[:-1], period],
        set_={name: table[name] + statement.excluded[name] for name in ROLLUP_SUMS},
    )


async def add_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Adds the rows to their hourly and daily rollups (in the caller's transaction)."""
    values = rollups(rows)
    if values:
        dialect = dialect_name(session)
        await session.execute(_rollup_upsert(dialect, "hour"), values)
        await session.execute(_rollup_upsert(dialect, "day"), daily_rollups(values))
