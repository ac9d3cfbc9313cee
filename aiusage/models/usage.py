"""Metering: one row per proxied request, hourly rollups, and the holds of requests in flight."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import count_col, created_col, fk_col, money_col, time_col, utcnow


class UsageRecord(SQLModel, table=True):
    """One row per proxied request: metadata only, never prompt or response content."""

    __tablename__ = "usage"
    __table_args__ = (sa.Index("ix_usage_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(sa_column=Column(sa.String(40), unique=True, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=time_col(nullable=False, index=True)
    )
    user_id: int = Field(sa_column=fk_col("users.id", index=False))
    proxy_key_id: int | None = Field(default=None, sa_column=fk_col("proxy_keys.id", nullable=True))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(sa.String(64), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    key_source: str = Field(sa_column=Column(sa.String(16), nullable=False))
    input_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    output_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_write_5m_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_write_1h_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    cache_read_tokens: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    web_search_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    web_fetch_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    file_search_calls: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    code_interpreter_containers: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    # The user's own provider key that served the request (None: the platform's key). Its
    # last four and label are kept: the key may be deleted later.
    provider_key_id: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    provider_key_last4: str | None = Field(default=None, sa_column=Column(sa.String(4)))
    provider_key_label: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    cost_nano: int = Field(default=0, sa_column=money_col())
    charged_nano: int = Field(default=0, sa_column=money_col())
    priced_by_default: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    tokens_estimated: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    status: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    error_type: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    latency_ms: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    ttfb_ms: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    request_bytes: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    response_bytes: int = Field(default=0, sa_column=Column(sa.Integer(), nullable=False))
    streamed: bool = Field(default=False, sa_column=Column(sa.Boolean(), nullable=False))
    ip_hash: str = Field(default="", sa_column=Column(sa.String(64), nullable=False))
    user_agent: str = Field(default="", sa_column=Column(sa.String(512), nullable=False))
    client_session_id: str | None = Field(default=None, sa_column=Column(sa.String(128)))


class UsageHourly(SQLModel, table=True):
    """Usage rolled up per user, key, model and hour, kept current by the usage writer, so
    charts never scan the raw table. Latency is kept as a histogram for percentiles."""

    __tablename__ = "usage_hourly"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "proxy_key_id", "provider", "model", "hour"),
        sa.Index("ix_usage_hourly_user_hour", "user_id", "hour"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id", index=False))
    proxy_key_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    hour: datetime = Field(sa_column=time_col(nullable=False))
    requests: int = Field(default=0, sa_column=count_col())
    errors: int = Field(default=0, sa_column=count_col())
    input_tokens: int = Field(default=0, sa_column=count_col())
    output_tokens: int = Field(default=0, sa_column=count_col())
    cache_write_tokens: int = Field(default=0, sa_column=count_col())
    cache_read_tokens: int = Field(default=0, sa_column=count_col())
    cost_nano: int = Field(default=0, sa_column=count_col())
    charged_nano: int = Field(default=0, sa_column=count_col())
    # Our part of charged_nano: the service fee on the user's own key (all of its charge) or
    # the markup on the platform's key (charge minus provider cost). See pricing.fee_nano.
    fee_nano: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0, server_default="0")
    )
    latency_ms_sum: int = Field(default=0, sa_column=count_col())
    # Requests whose latency was at most LATENCY_BUCKETS_MS[i] (and above the one before).
    lat_0: int = Field(default=0, sa_column=count_col())
    lat_1: int = Field(default=0, sa_column=count_col())
    lat_2: int = Field(default=0, sa_column=count_col())
    lat_3: int = Field(default=0, sa_column=count_col())
    lat_4: int = Field(default=0, sa_column=count_col())
    lat_5: int = Field(default=0, sa_column=count_col())
    lat_6: int = Field(default=0, sa_column=count_col())
    lat_7: int = Field(default=0, sa_column=count_col())
    lat_8: int = Field(default=0, sa_column=count_col())
    lat_9: int = Field(default=0, sa_column=count_col())


# usage_daily sums 24-hour periods starting at each of these UTC hours (each hour is in one
# period of each phase): whatever the browser's offset, a local day is within 3 hours of the
# periods of one phase, so a chart per local day reads few hourly rows (services/usage.py).
DAILY_PHASES_H = (0, 6, 12, 18)


def period_starts(hour: datetime) -> list[datetime]:
    """The starts of the daily periods (one per phase) that hold `hour` (aware UTC)."""
    return [
        (hour - timedelta(hours=p)).replace(hour=0, minute=0, second=0, microsecond=0)
        + timedelta(hours=p)
        for p in DAILY_PHASES_H
    ]


class UsageDaily(SQLModel, table=True):
    """The hourly rollups summed per 24-hour period (same columns; `day`: the period's start,
    at one of DAILY_PHASES_H UTC, so every hour is counted once per phase), written in the
    usage writer's transaction beside them: a long range's whole periods are read here, the
    other hours from `usage_hourly` (see services/usage.py), so a 90-day chart reads about a
    24th of the rows."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "proxy_key_id", "provider", "model", "day"),
        sa.Index("ix_usage_daily_user_day", "user_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id", index=False))
    proxy_key_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    day: datetime = Field(sa_column=time_col(nullable=False))
    requests: int = Field(default=0, sa_column=count_col())
    errors: int = Field(default=0, sa_column=count_col())
    input_tokens: int = Field(default=0, sa_column=count_col())
    output_tokens: int = Field(default=0, sa_column=count_col())
    cache_write_tokens: int = Field(default=0, sa_column=count_col())
    cache_read_tokens: int = Field(default=0, sa_column=count_col())
    cost_nano: int = Field(default=0, sa_column=count_col())
    charged_nano: int = Field(default=0, sa_column=count_col())
    fee_nano: int = Field(default=0, sa_column=count_col())
    latency_ms_sum: int = Field(default=0, sa_column=count_col())
    lat_0: int = Field(default=0, sa_column=count_col())
    lat_1: int = Field(default=0, sa_column=count_col())
    lat_2: int = Field(default=0, sa_column=count_col())
    lat_3: int = Field(default=0, sa_column=count_col())
    lat_4: int = Field(default=0, sa_column=count_col())
    lat_5: int = Field(default=0, sa_column=count_col())
    lat_6: int = Field(default=0, sa_column=count_col())
    lat_7: int = Field(default=0, sa_column=count_col())
    lat_8: int = Field(default=0, sa_column=count_col())
    lat_9: int = Field(default=0, sa_column=count_col())


# Upper bounds (ms) of UsageHourly.lat_0 … lat_9; the last catches everything slower.
LATENCY_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 2**31 - 1)
# What a rollup row sums (the same columns in usage_hourly and usage_daily): written by
# proxy/rollups.py, read by the dashboards (services/usage_spans.py).
# ROLLUP_TOTALS: its counts and money (what tables and totals show).
ROLLUP_TOTALS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_nano",
    "charged_nano",
    "fee_nano",
)
ROLLUP_SUMS = (
    *ROLLUP_TOTALS,
    "latency_ms_sum",
    *(f"lat_{i}" for i in range(len(LATENCY_BUCKETS_MS))),
)


class Hold(SQLModel, table=True):
    """A request in flight: the worst-case cost it reserved on the balance (and on its key).

    Written in the same transaction that raises `users.held_nano`, deleted in the one that
    books the request, so `users.held_nano` is always the sum of the user's hold rows. The
    owning process renews `lease_until_ms` while it lives; a hold whose lease has run out
    belongs to a dead process, and any live one books it as an interrupted request. What the
    reclaim needs to price it is kept here (never content)."""

    __tablename__ = "holds"
    # One B-tree on SQLite (no rowid table beside the key's index): a hold row is written and
    # deleted once per request on the hot path.
    __table_args__ = {"sqlite_with_rowid": False}

    request_id: str = Field(sa_column=Column(sa.String(40), primary_key=True))
    # No other index: the table holds only requests in flight (scans are cheap), and every
    # index would be written twice per request on the hot path (measured: ~30 µs each).
    user_id: int = Field(sa_column=fk_col("users.id", index=False))
    proxy_key_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    key_amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    owner: str = Field(sa_column=Column(sa.String(40), nullable=False))
    # Milliseconds since the Unix epoch (UTC): compared on the hot path without conversions.
    lease_until_ms: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    started_ms: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(sa.String(64), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    byok: bool = Field(sa_column=Column(sa.Boolean(), nullable=False))
    request_bytes: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))


class DeadSettlement(SQLModel, table=True):
    """A settlement the usage writer could not book, set aside whole (as ASCII JSON) for the
    operator instead of blocking every other user's charges. Its hold was released."""

    __tablename__ = "dead_settlements"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    request_id: str = Field(sa_column=Column(sa.String(64), nullable=False))
    user_id: int = Field(sa_column=Column(sa.Integer(), nullable=False))
    error: str = Field(sa_column=Column(sa.String(255), nullable=False))
    payload: str = Field(sa_column=Column(sa.Text(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=time_col())
