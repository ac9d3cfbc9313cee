"""What the usage pages filter on and over which times: a user's filter (range, key,
provider, model, the browser's UTC offset), its range resolved to UTC instants and buckets,
the local-time bucket labels computed in SQL, the WHERE clauses on the rollups and the raw
table, and the one reading of the page's and the CSV link's parameters (services/usage.py
aggregates over them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from sqlalchemy.sql.base import ReadOnlyColumnCollection

from aiusage.db import dialect_name
from aiusage.models import ProxyKey, UsageDaily, UsageHourly, UsageRecord
from aiusage.models.base import table_of
from aiusage.services.errors import ServiceError

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
Columns: TypeAlias = "ReadOnlyColumnCollection[str, sa.Column[Any]]"

H = table_of(UsageHourly).c
D = table_of(UsageDaily).c
U = table_of(UsageRecord).c
K = table_of(ProxyKey).c

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
    return shifted_label(column, bucket, clamp_offset(tz_offset_min), dialect)


def shifted_label(
    column: sa.ColumnElement[Any], bucket: str, minutes: int, dialect: str
) -> sa.ColumnElement[str]:
    """bucket_label for any shift in minutes (not only a time zone's)."""
    if dialect == "sqlite":
        fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:00"
        return sa.func.strftime(fmt, column, f"{minutes:+d} minutes")
    fmt = "YYYY-MM-DD" if bucket == "day" else "YYYY-MM-DD HH24:00"
    local = sa.func.timezone("UTC", column) + sa.func.make_interval(0, 0, 0, 0, 0, minutes)
    return sa.func.to_char(local, fmt)


def dialect_of(db: AsyncSession) -> str:
    return dialect_name(db)


def hourly_where(f: UsageFilter) -> list[sa.ColumnElement[bool]]:
    start_hour = f.start.replace(minute=0, second=0, microsecond=0)
    return [H.user_id == f.user_id, H.hour >= start_hour, H.hour < f.end, *narrowing(H, f)]


def narrowing(c: Columns, f: UsageFilter) -> list[sa.ColumnElement[bool]]:
    """The filter's key, provider and model, on either rollup table's columns `c`."""
    where = []
    if f.proxy_key_id is not None:
        where.append(c.proxy_key_id == f.proxy_key_id)
    if f.provider:
        where.append(c.provider == f.provider)
    if f.model:
        where.append(c.model == f.model)
    return where


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
