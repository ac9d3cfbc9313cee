"""Which rollup rows a range reads: its whole periods from `usage_daily` (of the phase
nearest the browser's local days) and only its other hours from `usage_hourly`, and the sums
per local day with the few hours a period lends its neighbour moved over (exact integers,
identical to summing the hours one by one). services/usage.py aggregates over these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.models import DAILY_PHASES_H, ROLLUP_SUMS
from aiusage.services.usage_filters import (
    Columns,
    D,
    H,
    UsageFilter,
    clamp_offset,
    dialect_of,
    narrowing,
    shifted_label,
)

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
        days = [D.user_id == f.user_id, *narrowing(D, f)]
        if span.end_day is None:
            days.append(D.day >= span.first_day)
        else:
            days.append(D.day.in_(span.days()))
        parts.append(sa.select(*[D[n] for n in names]).where(*days))
    for lo, hi in _hour_ranges(span):
        hours = [H.user_id == f.user_id, H.hour >= lo, *narrowing(H, f)]
        if hi is not None:
            hours.append(H.hour < hi)
        parts.append(sa.select(*[H[n] for n in names]).where(*hours))
    if not parts:  # an empty range
        parts.append(sa.select(*[H[n] for n in names]).where(sa.false()))
    return (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("rollups")


# What the dashboards sum (latency comes from the histogram, not the plain sum).
SUM_NAMES = tuple(name for name in ROLLUP_SUMS if name != "latency_ms_sum")


async def per_local_day(
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
    dialect = dialect_of(db)
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
        c: Columns, time: str
    ) -> tuple[list[sa.ColumnElement[Any]], list[sa.ColumnElement[Any]]]:
        return [c[time].label("t"), *[c[g] for g in group]], [
            sa.func.sum(c[n]).label(n) for n in names
        ]

    parts = []
    if hours_read:
        keys, sums = summed(H, "hour")
        hours = (
            sa.select(*keys, *sums)
            .where(H.user_id == f.user_id, H.hour.in_(sorted(hours_read)), *narrowing(H, f))
            .group_by(*keys)
            .cte("hours")
        )
        parts.append(
            sa.select(
                shifted_label(hours.c.t, "day", minutes, dialect).label("label"),
                *[hours.c[g] for g in group],
                *[hours.c[n] for n in names],
            )
        )
        if moved:
            parts.append(
                sa.select(
                    shifted_label(hours.c.t, "day", minutes + shift, dialect).label("label"),
                    *[hours.c[g] for g in group],
                    *[(-hours.c[n]).label(n) for n in names],
                ).where(hours.c.t >= span.first_day, hours.c.t < span.end_day)
            )
    if span.has_days:
        keys, sums = summed(D, "day")
        days = (
            sa.select(*keys, *sums)
            .where(D.user_id == f.user_id, D.day.in_(starts), *narrowing(D, f))
            .group_by(*keys)
            .subquery("days")
        )
        parts.append(
            sa.select(
                shifted_label(days.c.t, "day", minutes + 720, dialect).label("label"),
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
