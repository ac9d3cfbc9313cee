"""What the dashboard shows about a user's usage: every query takes the user's id.

Charts and totals are aggregated in SQL over the rollups (one row per user, key, model and
hour in `usage_hourly`, and per 24-hour period in `usage_daily`, kept current by the proxy's
usage writer), so they cost the same whether the raw table holds a thousand rows or millions.
A range's whole UTC days are read from the daily rows and only its other hours from the
hourly ones; a chart per local day (the browser's offset moves a local day off the UTC day)
reads the periods of the phase nearest the local days (they start at 00, 06, 12 or 18 UTC),
each counted whole in the local day holding its middle, and moves the few other hours (at
most 3 a day) over from the hourly rows (added to their own local day, subtracted from that
one: exact integers, and identical to summing the hours one by one). The request table and
the CSV export read the raw `usage` table page by page, newest first, along the
`ix_usage_user_created` index (keyset paging: the cursor is the last row's (created_at, id)).
Nothing here loads rows into Python to add them up; Python only turns a handful of aggregated
numbers into display values.

Times: stored as UTC. The browser sends its UTC offset in minutes (local = UTC + offset); day
and hour buckets are computed in SQL in that local time, and range presets start at local
midnight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    pass
from sqlmodel import col

from aiusage.models import (
    LATENCY_BUCKETS_MS,
    ProxyKey,
    User,
)
from aiusage.services.usage_filters import (
    EARLIEST_DAY,
    LATEST_DAY,
    MAX_CUSTOM_DAYS,
    MAX_KEY_ID_DIGITS,
    MAX_TZ_OFFSET_MIN,
    PAGE_SIZE,
    RANGES,
    TEXT_FILTER_CHARS,
    BadFilter,
    Columns,
    D,
    H,
    K,
    Range,
    U,
    UsageFilter,
    bucket_label,
    bucket_labels,
    clamp_offset,
    dialect_of,
    filter_from_params,
    hourly_where,
    narrowing,
    parse_day,
    raw_where,
    resolve_range,
    shifted_label,
)
from aiusage.services.usage_rows import Cursor, UsageRow, page
from aiusage.services.usage_spans import SUM_NAMES, per_local_day, rollup_rows

# The usage services' one address: what moved to usage_filters and usage_rows is exported here too.
__all__ = [
    "EARLIEST_DAY",
    "LATEST_DAY",
    "MAX_CUSTOM_DAYS",
    "MAX_KEY_ID_DIGITS",
    "MAX_TZ_OFFSET_MIN",
    "PAGE_SIZE",
    "RANGES",
    "TEXT_FILTER_CHARS",
    "BadFilter",
    "BucketRow",
    "Columns",
    "Cursor",
    "D",
    "FilterOptions",
    "H",
    "K",
    "ModelSpend",
    "Overview",
    "Range",
    "Totals",
    "U",
    "UsageFilter",
    "UsageRow",
    "bucket_label",
    "bucket_labels",
    "clamp_offset",
    "dialect_of",
    "filter_from_params",
    "filter_options",
    "hourly_where",
    "narrowing",
    "overview",
    "page",
    "parse_day",
    "percentile_ms",
    "raw_where",
    "resolve_range",
    "rollup_rows",
    "series",
    "shifted_label",
    "spend_by_model",
    "totals",
]

_LAT = [H[f"lat_{i}"] for i in range(len(LATENCY_BUCKETS_MS))]


# --- latency percentiles from the histogram -----------------------------------------------


def percentile_ms(counts: Sequence[int], q: float) -> int | None:
    """The q-quantile (0..1) of a latency histogram, interpolated inside its bucket."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    lower = 0
    for count, upper in zip(counts, LATENCY_BUCKETS_MS, strict=True):
        if count and seen + count >= rank:
            if upper == LATENCY_BUCKETS_MS[-1]:
                return lower  # the open-ended bucket: at least this slow
            return round(lower + (upper - lower) * (rank - seen) / count)
        seen += count
        lower = upper
    return lower


# --- aggregates (the rollups) -------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_nano: int = 0  # the provider's list price of the requests
    charged_nano: int = 0  # what the balance was charged
    fee_nano: int = 0  # our part of the charge (see pricing.fee_nano)
    p50_ms: int | None = None
    p95_ms: int | None = None


def _sums() -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.coalesce(sa.func.sum(H.requests), 0),
        sa.func.coalesce(sa.func.sum(H.errors), 0),
        sa.func.coalesce(sa.func.sum(H.input_tokens), 0),
        sa.func.coalesce(sa.func.sum(H.output_tokens), 0),
        sa.func.coalesce(sa.func.sum(H.cache_write_tokens), 0),
        sa.func.coalesce(sa.func.sum(H.cache_read_tokens), 0),
        sa.func.coalesce(sa.func.sum(H.cost_nano), 0),
        sa.func.coalesce(sa.func.sum(H.charged_nano), 0),
        sa.func.coalesce(sa.func.sum(H.fee_nano), 0),
        *[sa.func.coalesce(sa.func.sum(c), 0) for c in _LAT],
    ]


def _totals_from(row: Sequence[Any]) -> Totals:
    values = [int(v or 0) for v in row]
    latency = values[9:]
    requests, errors, input_, output, cache_write, cache_read, cost, charged, fee = values[:9]
    return Totals(
        requests,
        errors,
        input_,
        output,
        cache_write,
        cache_read,
        cost,
        charged,
        fee,
        p50_ms=percentile_ms(latency, 0.5),
        p95_ms=percentile_ms(latency, 0.95),
    )


async def totals(db: AsyncSession, f: UsageFilter) -> Totals:
    rows = rollup_rows(f, *SUM_NAMES)
    sums = [sa.func.coalesce(sa.func.sum(rows.c[n]), 0) for n in SUM_NAMES]
    return _totals_from((await db.execute(sa.select(*sums))).one())


@dataclass(frozen=True)
class BucketRow:
    label: str
    totals: Totals


async def series(db: AsyncSession, f: UsageFilter, bucket: str) -> list[BucketRow]:
    """Requests, tokens, spend and latency per local day or hour (buckets with no usage are
    absent). Per hour: summed per stored hour first (in index order), then per local hour,
    so the label is computed once per hour rather than once per rollup row. Per day: mostly
    from the daily rollups (see per_local_day)."""
    if bucket == "day":
        rows = await per_local_day(db, f, (), SUM_NAMES)
        return [BucketRow(row[0], _totals_from(row[1:])) for row in rows]
    sums = _sums()
    names = [f"s{i}" for i in range(len(sums))]
    hourly = (
        sa.select(H.hour.label("hour"), *[s.label(n) for s, n in zip(sums, names, strict=True)])
        .where(*hourly_where(f))
        .group_by(H.hour)
        .subquery()
    )
    label = bucket_label(hourly.c.hour, bucket, f.tz_offset_min, dialect_of(db)).label("bucket")
    rows = await db.execute(
        sa.select(label, *[sa.func.sum(hourly.c[n]) for n in names]).group_by(label).order_by(label)
    )
    return [BucketRow(row[0], _totals_from(row[1:])) for row in rows]


@dataclass(frozen=True)
class ModelSpend:
    label: str
    model: str
    charged_nano: int
    requests: int
    cost_nano: int = 0
    fee_nano: int = 0


async def spend_by_model(db: AsyncSession, f: UsageFilter, bucket: str) -> list[ModelSpend]:
    """Spend (what the balance was charged) per local day or hour and model; per hour,
    summed per stored hour and model first, then per local hour; per day, mostly from the
    daily rollups (see per_local_day)."""
    if bucket == "day":
        names = ("charged_nano", "requests", "cost_nano", "fee_nano")
        rows = await per_local_day(db, f, ("model",), names)
        return [ModelSpend(r[0], r[1], *(int(v or 0) for v in r[2:])) for r in rows]
    hourly = (
        sa.select(
            H.hour.label("hour"),
            H.model.label("model"),
            sa.func.sum(H.charged_nano).label("charged"),
            sa.func.sum(H.requests).label("requests"),
            sa.func.sum(H.cost_nano).label("cost"),
            sa.func.sum(H.fee_nano).label("fee"),
        )
        .where(*hourly_where(f))
        .group_by(H.hour, H.model)
        .subquery()
    )
    label = bucket_label(hourly.c.hour, bucket, f.tz_offset_min, dialect_of(db)).label("bucket")
    result = await db.execute(
        sa.select(
            label,
            hourly.c.model,
            sa.func.sum(hourly.c.charged),
            sa.func.sum(hourly.c.requests),
            sa.func.sum(hourly.c.cost),
            sa.func.sum(hourly.c.fee),
        )
        .group_by(label, hourly.c.model)
        .order_by(label, hourly.c.model)
    )
    return [ModelSpend(r[0], r[1], *(int(v or 0) for v in r[2:])) for r in result]


@dataclass(frozen=True)
class Overview:
    balance_nano: int
    held_nano: int
    spend_today_nano: int
    spend_7d_nano: int
    spend_30d_nano: int
    requests_30d: int
    tokens_30d: int
    cost_30d_nano: int  # the provider's price of the 30 days' requests
    fee_30d_nano: int  # our part of spend_30d_nano
    active_keys: int


async def overview(db: AsyncSession, user_id: int, tz_offset_min: int) -> Overview:
    today = resolve_range("today", tz_offset_min)
    week = resolve_range("7d", tz_offset_min)
    month = resolve_range("30d", tz_offset_min)
    spend = H.charged_nano

    def since(start: datetime) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sa.func.sum(sa.case((H.hour >= start, spend), else_=0)), 0)

    sums = (
        await db.execute(
            sa.select(
                since(today.start.replace(minute=0)),
                since(week.start.replace(minute=0)),
                sa.func.coalesce(sa.func.sum(spend), 0),
                sa.func.coalesce(sa.func.sum(H.requests), 0),
                sa.func.coalesce(
                    sa.func.sum(
                        H.input_tokens
                        + H.output_tokens
                        + H.cache_write_tokens
                        + H.cache_read_tokens
                    ),
                    0,
                ),
                sa.func.coalesce(sa.func.sum(H.cost_nano), 0),
                sa.func.coalesce(sa.func.sum(H.fee_nano), 0),
            ).where(H.user_id == user_id, H.hour >= month.start.replace(minute=0))
        )
    ).one()
    balance, held = (
        await db.execute(
            sa.select(col(User.balance_nano), col(User.held_nano)).where(col(User.id) == user_id)
        )
    ).one()
    active = (
        await db.execute(
            sa.select(sa.func.count())
            .select_from(ProxyKey)
            .where(col(ProxyKey.user_id) == user_id, col(ProxyKey.revoked_at).is_(None))
        )
    ).scalar_one()
    today_, week_, month_, requests, tokens, cost, fee = (int(v) for v in sums)
    return Overview(
        int(balance), int(held), today_, week_, month_, requests, tokens, cost, fee, int(active)
    )


@dataclass(frozen=True)
class FilterOptions:
    keys: list[tuple[int, str, str]] = field(default_factory=list)  # (id, name, prefix)
    providers: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


async def filter_options(db: AsyncSession, user_id: int, start: datetime) -> FilterOptions:
    """The user's keys (revoked ones too: their usage stays), and the providers and models
    the user has used since `start`."""
    keys = await db.execute(
        sa.select(K.id, K.name, K.prefix).where(K.user_id == user_id).order_by(K.id.desc())
    )
    rows = rollup_rows(UsageFilter(user_id, start, start), "provider", "model", end=False)
    used = await db.execute(
        sa.select(rows.c.provider, rows.c.model)
        .group_by(rows.c.provider, rows.c.model)
        .order_by(rows.c.provider, rows.c.model)
    )
    pairs = list(used)
    return FilterOptions(
        keys=[(int(r[0]), r[1], r[2]) for r in keys],
        providers=sorted({p for p, _ in pairs}),
        models=sorted({m for _, m in pairs}),
    )
