"""usage_daily: the hourly rollups summed per 24-hour period, so long ranges read whole days

A 90-day chart or total read ~54,000 hourly rows for a busy user (25 keys × models per hour);
the whole periods of a range are now read from `usage_daily` (a 24th of the rows) and only
the hours at its edges, or the few hours a local day does not share with the periods, from
`usage_hourly`. Periods start at 00, 06, 12 and 18 UTC (each hour is in one period of each
phase), so any local day is within 3 hours of one phase's periods. The usage writer keeps
both tables in one transaction; this backfills the daily rows from the hourly ones.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHASES_H = (0, 6, 12, 18)  # as aiusage.models.DAILY_PHASES_H was when this was written
_SUMS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "cost_nano",
    "charged_nano",
    "fee_nano",
    "latency_ms_sum",
    *(f"lat_{i}" for i in range(10)),
)


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("proxy_key_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("day", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _SUMS),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "proxy_key_id", "provider", "model", "day"),
    )
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.create_index("ix_usage_daily_user_day", ["user_id", "day"], unique=False)
    # The 24-hour periods starting at each phase's UTC hour (aiusage.models.DAILY_PHASES_H);
    # SQLite keeps times as text in SQLAlchemy's format (compared as text): starts in it.
    sqlite = op.get_bind().dialect.name == "sqlite"
    sums = ", ".join(_SUMS)
    for phase in _PHASES_H:
        day = (
            f"strftime('%Y-%m-%d %H:00:00.000000', hour, '-{phase} hours', 'start of day',"
            f" '+{phase} hours')"
            if sqlite
            else f"(date_trunc('day', (hour AT TIME ZONE 'UTC') - interval '{phase} hours')"
            f" + interval '{phase} hours') AT TIME ZONE 'UTC'"
        )
        op.execute(
            f"INSERT INTO usage_daily (user_id, proxy_key_id, provider, model, day, {sums})"
            f" SELECT user_id, proxy_key_id, provider, model, {day},"
            + ", ".join(f"SUM({name})" for name in _SUMS)
            + f" FROM usage_hourly GROUP BY user_id, proxy_key_id, provider, model, {day}"
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_daily_user_day")
    op.drop_table("usage_daily")
