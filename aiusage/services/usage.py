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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import dialect_name
from aiusage.models import (
    DAILY_PHASES_H,
    LATENCY_BUCKETS_MS,
    ProxyKey,
    UsageDaily,
    UsageHourly,
    UsageRecord,
    User,
)
from aiusage.models.base import table_of
from aiusage.services.errors import ServiceError
from aiusage.services.pricing import fee_nano

RANGES = ("today", "7d", "30d", "90d", "custom")
MAX_CUSTOM_DAYS = 400
MAX_TZ_OFFSET_MIN = 14 * 60
# Custom ranges live inside these local dates: far from date.min/date.max, so a range shifted
# by a time zone and padded by a day can never overflow (and no usage is older anyway).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)
MAX_KEY_ID_DIGITS = 18  # any id a 64-bit integer column holds
TEXT_FILTER_CHARS = {"provider": 16, "model": 100}  # the usage columns' lengths
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # what a date input sends: ASCII digits only
_OFFSET = re.compile(r"[+-]?[0-9]{1,5}")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # control chars, lone surrogates
PAGE_SIZE = 50

# A table's columns by name (`table.c`).
_Columns: TypeAlias = "ReadOnlyColumnCollection[str, sa.Column[Any]]"

H = table_of(UsageHourly).c
D = table_of(UsageDaily).c
U = table_of(UsageRecord).c
K = table_of(ProxyKey).c
_LAT = [H[f"lat_{i}"] for i in range(len(LATENCY_BUCKETS_MS))]


# --- filters and ranges -------------------------------------------------------------------


@dataclass(frozen=True)
class UsageFilter:
    """What a usage view shows: one user's usage in [start, end), optionally narrowed."""

    user_id: int
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    proxy_key_id: int | None = None
    provider: str | None = None
    model: str | None = None
    tz_offset_min: int = 0  # the browser's: local time = UTC + offset


def clamp_offset(value: Any) -> int:
    try:
        offset = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return 0
    return max(-MAX_TZ_OFFSET_MIN, min(MAX_TZ_OFFSET_MIN, offset))


def parse_day(value: str | None) -> date | None:
    """A local date as YYYY-MM-DD (ASCII digits; anything after the first 10 characters is
    ignored) between EARLIEST_DAY and LATEST_DAY; else None."""
    text = value.strip()[:10] if isinstance(value, str) else ""
    if not _DAY.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def _within_calendar(day: date) -> date:
    return min(max(day, EARLIEST_DAY), LATEST_DAY)


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime
    bucket: str  # "hour" or "day"
    first_day: date  # local dates, inclusive
    last_day: date


def resolve_range(
    preset: str,
    tz_offset_min: int,
    *,
    custom_start: date | None = None,
    custom_end: date | None = None,
    now: datetime | None = None,
) -> Range:
    """A preset (today, 7d, 30d, 90d) or custom local dates → a UTC [start, end) range."""
    offset = timedelta(minutes=clamp_offset(tz_offset_min))
    now = now or datetime.now(UTC)
    today = (now + offset).date()
    days = {"today": 1, "7d": 7, "30d": 30, "90d": 90}.get(preset)
    if preset == "custom" and custom_start and custom_end:
        first, last = sorted((_within_calendar(custom_start), _within_calendar(custom_end)))
        first = max(first, last - timedelta(days=MAX_CUSTOM_DAYS - 1))
    else:
        first, last = today - timedelta(days=(days or 30) - 1), today
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - offset
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) - offset
    bucket = "hour" if (last - first).days < 2 else "day"
    return Range(start, end, bucket, first, last)


def bucket_labels(rng: Range) -> list[str]:
    """Every bucket of the range, in order, labelled as the SQL labels them (the range's
    days are the browser's local days already)."""
    if rng.bucket == "day":
        count = (rng.last_day - rng.first_day).days + 1
        return [(rng.first_day + timedelta(days=i)).isoformat() for i in range(count)]
    local = datetime(rng.first_day.year, rng.first_day.month, rng.first_day.day)
    hours = ((rng.last_day - rng.first_day).days + 1) * 24
    return [(local + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(hours)]


def bucket_label(
    column: sa.ColumnElement[Any], bucket: str, tz_offset_min: int, dialect: str
) -> sa.ColumnElement[str]:
    """The column's local day ('YYYY-MM-DD') or hour ('YYYY-MM-DD HH:00'), computed in SQL."""
    return _label(column, bucket, clamp_offset(tz_offset_min), dialect)


def _label(
    column: sa.ColumnElement[Any], bucket: str, minutes: int, dialect: str
) -> sa.ColumnElement[str]:
    """bucket_label for any shift in minutes (not only a time zone's)."""
    if dialect == "sqlite":
        fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:00"
        return sa.func.strftime(fmt, column, f"{minutes:+d} minutes")
    fmt = "YYYY-MM-DD" if bucket == "day" else "YYYY-MM-DD HH24:00"
    local = sa.func.timezone("UTC", column) + sa.func.make_interval(0, 0, 0, 0, 0, minutes)
    return sa.func.to_char(local, fmt)


def _dialect(db: AsyncSession) -> str:
    return dialect_name(db)


def hourly_where(f: UsageFilter) -> list[sa.ColumnElement[bool]]:
    start_hour = f.start.replace(minute=0, second=0, microsecond=0)
    return [H.user_id == f.user_id, H.hour >= start_hour, H.hour < f.end, *_narrowing(H, f)]


def _narrowing(c: _Columns, f: UsageFilter) -> list[sa.ColumnElement[bool]]:
    """The filter's key, provider and model, on either rollup table's columns `c`."""
    where = []
    if f.proxy_key_id is not None:
        where.append(c.proxy_key_id == f.proxy_key_id)
    if f.provider:
        where.append(c.provider == f.provider)
    if f.model:
        where.append(c.model == f.model)
    return where


# --- which rollup rows a range reads ------------------------------------------------------

_HOUR = timedelta(hours=1)
_ONE_DAY = timedelta(days=1)


def _floor_day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _horizon() -> datetime:
    """The earliest daily period start read from `usage_daily`: a day after the retention
    purge's cut-off (it deletes rollups of whole UTC days before it, and a period of another
    phase may straddle it), so every period read still has all its hours in both tables."""
    retention = timedelta(days=get_settings().usage_retention_days)
    return _floor_day(datetime.now(UTC) - retention) + _ONE_DAY


@dataclass(frozen=True)
class _Span:
    """The stored hours a filter covers, [first_hour, end_hour) (the hours starting in
    [start floored to the hour, end)), and the whole daily periods of one phase among them,
    [first_day, end_day) (none when first_day >= end_day). end_hour None: no end."""

    first_hour: datetime
    end_hour: datetime | None
    first_day: datetime
    end_day: datetime | None

    @property
    def has_days(self) -> bool:
        return self.end_day is None or self.first_day < self.end_day

    def days(self) -> list[datetime]:
        """The starts of its whole periods (a bounded span's)."""
        starts, day = [], self.first_day
        while self.end_day is not None and day < self.end_day:
            starts.append(day)
            day += _ONE_DAY
        return starts


def _span(start: datetime, end: datetime | None, phase: int = 0) -> _Span:
    first_hour = start.replace(minute=0, second=0, microsecond=0)
    shift = timedelta(hours=phase)
    earliest = max(first_hour, _horizon())
    first_day = _floor_day(earliest - shift) + shift
    if first_day < earliest:
        first_day += _ONE_DAY
    if end is None:
        return _Span(first_hour, None, first_day, None)
    end_hour = end.replace(minute=0, second=0, microsecond=0)
    if end_hour < end:
        end_hour += _HOUR
    return _Span(first_hour, end_hour, first_day, _floor_day(end_hour - shift) + shift)


def _hour_ranges(span: _Span) -> list[tuple[datetime, datetime | None]]:
    """The span's hours outside its whole days, as [from, to) ranges (to None: no end)."""
    if not span.has_days:
        return [(span.first_hour, span.end_hour)]
    ranges: list[tuple[datetime, datetime | None]] = []
    if span.first_hour < span.first_day:
        ranges.append((span.first_hour, span.first_day))
    if span.end_day is not None and span.end_hour is not None and span.end_day < span.end_hour:
        ranges.append((span.end_day, span.end_hour))
    return ranges


def rollup_rows(f: UsageFilter, *names: str, end: bool = True) -> sa.Subquery:
    """The filter's rollup rows, columns `names` (common to both tables): the daily rows of
    its whole UTC days (phase 0) and the hourly rows of the hours before and after them. The
    sum of any column over them is its sum over the hourly rows of the filter's hours. `end`
    False: from the filter's start on, without end, and the daily rows of every phase (they
    overlap: for which values occur, not for sums)."""
    span = _span(f.start, f.end if end else None)
    parts = []
    if span.has_days:
        days = [D.user_id == f.user_id, *_narrowing(D, f)]
        if span.end_day is None:
            days.append(D.day >= span.first_day)
        else:
            days.append(D.day.in_(span.days()))
        parts.append(sa.select(*[D[n] for n in names]).where(*days))
    for lo, hi in _hour_ranges(span):
        hours = [H.user_id == f.user_id, H.hour >= lo, *_narrowing(H, f)]
        if hi is not None:
            hours.append(H.hour < hi)
        parts.append(sa.select(*[H[n] for n in names]).where(*hours))
    if not parts:  # an empty range
        parts.append(sa.select(*[H[n] for n in names]).where(sa.false()))
    return (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("rollups")


_SUM_NAMES = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_nano",
    "charged_nano",
    "fee_nano",
    *(f"lat_{i}" for i in range(len(LATENCY_BUCKETS_MS))),
)


async def _per_local_day(
    db: AsyncSession, f: UsageFilter, group: Sequence[str], names: Sequence[str]
) -> list[Sequence[Any]]:
    """Rows (local day, *group columns, *sums of `names`) per local day and group, ordered,
    only those with requests (`names` holds "requests"): exactly the sums of the hourly rows
    whose hour starts in that local day.

    Whole daily periods come from the daily rows, of the phase whose periods are nearest the
    local days, each period counted in the local day holding its middle (so, the most of its
    hours); the hours of a period that belong to the local day before or after it (the same
    hours of every period, at most 3) and the hours outside the whole periods come from the
    hourly rows, summed per hour; an hour moved off its period's local day is added to its
    own and subtracted from that one."""
    dialect = _dialect(db)
    minutes = clamp_offset(f.tz_offset_min)
    base = datetime(2000, 1, 1)
    options = []
    for phase in DAILY_PHASES_H:
        local = [(base + timedelta(hours=phase + i, minutes=minutes)).date() for i in range(24)]
        before = [i for i in range(24) if local[i] < local[12]]
        after = [i for i in range(24) if local[i] > local[12]]
        # (a moved hour's label shifted by a day is its period's label)
        options.append((len(before or after), phase, before or after, 1440 if before else -1440))
    _, phase, moved, shift = min(options)
    span = _span(f.start, f.end, phase)
    if not span.has_days:
        moved = []
    starts = span.days()
    # Every hour read from the hourly rows (index lookups on (user_id, hour)): the hours
    # outside the whole periods, and the moved hours of each period.
    hours_read = []
    for lo, hi in _hour_ranges(span):
        while hi is not None and lo < hi:
            hours_read.append(lo)
            lo += _HOUR
    for day in starts:
        hours_read.extend(day + timedelta(hours=i) for i in moved)

    def summed(
        c: _Columns, time: str
    ) -> tuple[list[sa.ColumnElement[Any]], list[sa.ColumnElement[Any]]]:
        return [c[time].label("t"), *[c[g] for g in group]], [
            sa.func.sum(c[n]).label(n) for n in names
        ]

    parts = []
    if hours_read:
        keys, sums = summed(H, "hour")
        hours = (
            sa.select(*keys, *sums)
            .where(H.user_id == f.user_id, H.hour.in_(sorted(hours_read)), *_narrowing(H, f))
            .group_by(*keys)
            .cte("hours")
        )
        parts.append(
            sa.select(
                _label(hours.c.t, "day", minutes, dialect).label("label"),
                *[hours.c[g] for g in group],
                *[hours.c[n] for n in names],
            )
        )
        if moved:
            parts.append(
                sa.select(
                    _label(hours.c.t, "day", minutes + shift, dialect).label("label"),
                    *[hours.c[g] for g in group],
                    *[(-hours.c[n]).label(n) for n in names],
                ).where(hours.c.t >= span.first_day, hours.c.t < span.end_day)
            )
    if span.has_days:
        keys, sums = summed(D, "day")
        days = (
            sa.select(*keys, *sums)
            .where(D.user_id == f.user_id, D.day.in_(starts), *_narrowing(D, f))
            .group_by(*keys)
            .subquery("days")
        )
        parts.append(
            sa.select(
                _label(days.c.t, "day", minutes + 720, dialect).label("label"),
                *[days.c[g] for g in group],
                *[days.c[n] for n in names],
            )
        )
    if not parts:
        return []
    rows = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("parts")
    order = [rows.c.label, *[rows.c[g] for g in group]]
    statement = (
        sa.select(*order, *[sa.func.sum(rows.c[n]) for n in names])
        .group_by(*order)
        .having(sa.func.sum(rows.c.requests) > 0)
        .order_by(*order)
    )
    return list(await db.execute(statement))


def raw_where(f: UsageFilter) -> list[sa.ColumnElement[bool]]:
    where = [U.user_id == f.user_id, U.created_at >= f.start, U.created_at < f.end]
    if f.proxy_key_id is not None:
        where.append(
            U.proxy_key_id.is_(None) if f.proxy_key_id == 0 else U.proxy_key_id == f.proxy_key_id
        )
    if f.provider:
        where.append(U.provider == f.provider)
    if f.model:
        where.append(U.model == f.model)
    return where


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
    rows = rollup_rows(f, *_SUM_NAMES)
    sums = [sa.func.coalesce(sa.func.sum(rows.c[n]), 0) for n in _SUM_NAMES]
    return _totals_from((await db.execute(sa.select(*sums))).one())


@dataclass(frozen=True)
class BucketRow:
    label: str
    totals: Totals


async def series(db: AsyncSession, f: UsageFilter, bucket: str) -> list[BucketRow]:
    """Requests, tokens, spend and latency per local day or hour (buckets with no usage are
    absent). Per hour: summed per stored hour first (in index order), then per local hour,
    so the label is computed once per hour rather than once per rollup row. Per day: mostly
    from the daily rollups (see _per_local_day)."""
    if bucket == "day":
        rows = await _per_local_day(db, f, (), _SUM_NAMES)
        return [BucketRow(row[0], _totals_from(row[1:])) for row in rows]
    sums = _sums()
    names = [f"s{i}" for i in range(len(sums))]
    hourly = (
        sa.select(H.hour.label("hour"), *[s.label(n) for s, n in zip(sums, names, strict=True)])
        .where(*hourly_where(f))
        .group_by(H.hour)
        .subquery()
    )
    label = bucket_label(hourly.c.hour, bucket, f.tz_offset_min, _dialect(db)).label("bucket")
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
    daily rollups (see _per_local_day)."""
    if bucket == "day":
        names = ("charged_nano", "requests", "cost_nano", "fee_nano")
        rows = await _per_local_day(db, f, ("model",), names)
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
    label = bucket_label(hourly.c.hour, bucket, f.tz_offset_min, _dialect(db)).label("bucket")
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


# --- raw rows (usage, newest first, keyset-paged) -----------------------------------------

_ROW_COLUMNS = (
    U.id,
    U.created_at,
    U.proxy_key_id,
    K.name.label("key_name"),
    U.provider,
    U.model,
    U.endpoint,
    U.input_tokens,
    U.output_tokens,
    U.cache_write_5m_tokens,
    U.cache_write_1h_tokens,
    U.cache_read_tokens,
    U.cost_nano,
    U.charged_nano,
    U.latency_ms,
    U.ttfb_ms,
    U.status,
    U.error_type,
    U.streamed,
    U.key_source,
)


@dataclass(frozen=True)
class UsageRow:
    id: int
    created_at: datetime
    proxy_key_id: int | None
    key_name: str | None
    provider: str
    model: str
    endpoint: str
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    cost_nano: int
    charged_nano: int
    latency_ms: int
    ttfb_ms: int | None
    status: int
    error_type: str | None
    streamed: bool
    key_source: str

    @property
    def fee_nano(self) -> int:
        return fee_nano(self.cost_nano, self.charged_nano, byok=self.key_source == "byok")


Cursor = tuple[datetime, int]


async def page(
    db: AsyncSession, f: UsageFilter, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> tuple[list[UsageRow], Cursor | None]:
    """Up to `limit` rows, newest first, after the cursor; and the cursor of the next page
    (None on the last page)."""
    limit = max(1, min(limit, 1000))
    where = raw_where(f)
    if after is not None:
        at, row_id = after
        where.append(sa.or_(U.created_at < at, sa.and_(U.created_at == at, U.id < row_id)))
    statement = (
        sa.select(*_ROW_COLUMNS)
        .select_from(
            sa.outerjoin(
                table_of(UsageRecord),
                table_of(ProxyKey),
                sa.and_(K.id == U.proxy_key_id, K.user_id == U.user_id),
            )
        )
        .where(*where)
        .order_by(U.created_at.desc(), U.id.desc())
        .limit(limit + 1)
    )
    rows = [UsageRow(*tuple(r)) for r in await db.execute(statement)]
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, (rows[-1].created_at, rows[-1].id)
    return rows, None


# --- one description of "what is filtered", shared by the page and the CSV route ----------


class BadFilter(ServiceError):
    """A usage filter parameter that is present but unusable (400, code bad_filter)."""

    def __init__(self, name: str, expected: str) -> None:
        super().__init__("bad_filter", f"Invalid {name!r} parameter: {expected}.")


def filter_from_params(
    user_id: int, params: dict[str, str], *, strict: bool = False
) -> tuple[UsageFilter, Range]:
    """The usage page's filters (as also put into the CSV link's query string) → a filter
    for `user_id`. An empty or missing parameter means its default (a custom range without
    both dates means the default range). A value that is present but unusable — not a known
    range, not an integer offset, not a YYYY-MM-DD date in [EARLIEST_DAY, LATEST_DAY], a key
    id that is not ASCII digits, control characters or over-long text — raises BadFilter
    when `strict` (the CSV route: its query string is typed by anyone), and otherwise falls
    back to the default (the page's own state). Well-formed ids of other users' keys simply
    match nothing, since every query is scoped by `user_id`."""

    def refuse(name: str, expected: str) -> None:
        if strict:
            raise BadFilter(name, expected)

    def text(name: str) -> str:
        value = params.get(name, "")
        return value if isinstance(value, str) else ""

    tz = 0
    if raw := text("tz"):
        if _OFFSET.fullmatch(raw) and abs(int(raw)) <= MAX_TZ_OFFSET_MIN:
            tz = int(raw)
        else:
            refuse(
                "tz", f"a whole number of minutes from -{MAX_TZ_OFFSET_MIN} to {MAX_TZ_OFFSET_MIN}"
            )
            tz = clamp_offset(raw)
    preset = text("range") or "30d"
    if preset not in RANGES:
        refuse("range", "one of " + ", ".join(RANGES))
        preset = "30d"
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        days[name] = parse_day(raw := text(name))
        if raw and (days[name] is None or not _DAY.fullmatch(raw)):
            refuse(name, f"a date (YYYY-MM-DD) from {EARLIEST_DAY} to {LATEST_DAY}")
    rng = resolve_range(preset, tz, custom_start=days["from"], custom_end=days["to"])
    key_id = None
    if raw := text("key"):
        if raw.isascii() and raw.isdigit() and len(raw) <= MAX_KEY_ID_DIGITS:
            key_id = int(raw)
        else:
            refuse("key", "the id of one of your keys (digits)")
    narrowed: dict[str, str | None] = {}
    for name, limit in TEXT_FILTER_CHARS.items():
        value = text(name)
        if len(value) > limit or _UNSAFE_CHARS.search(value):
            refuse(name, f"at most {limit} characters, without control characters")
            value = "" if _UNSAFE_CHARS.search(value) else value[:limit]
        narrowed[name] = value or None
    flt = UsageFilter(
        user_id, rng.start, rng.end, key_id, narrowed["provider"], narrowed["model"], tz
    )
    return flt, rng
