"""The console's overview: the business over a period — money in (top-ups, less refunds and
disputes), what the provider cost on our keys, our fees and markups, what we lost, requests
and error rates by provider and model, the biggest spenders, and a daily series.

Reads the ledger and the hourly rollups (never the raw usage table), so it stays fast at
millions of requests. All amounts are integer nano-USD."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.db import dialect_name
from aiusage.models import LedgerEntry, OperatorLoss, UsageHourly, User, utcnow
from aiusage.models.base import table_of
from aiusage.services import billing
from aiusage.services.usage import bucket_label

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
TOP_USERS = 10
H = UsageHourly


@dataclass(frozen=True)
class Money:
    topups_nano: int  # paid in by card
    refunds_nano: int  # given back (refunds and disputes lost), positive
    provider_cost_nano: int  # the providers' price of requests on our keys
    fees_nano: int  # our service fees (own keys) and markups (our keys)
    losses_nano: int  # what requests cost beyond what their users' balances covered
    charged_nano: int  # everything charged to balances

    @property
    def net_topups_nano(self) -> int:
        return self.topups_nano - self.refunds_nano

    @property
    def margin_nano(self) -> int:
        """Fees and markups less losses: what the period earned."""
        return self.fees_nano - self.losses_nano


@dataclass(frozen=True)
class ModelLine:
    provider: str
    model: str
    requests: int
    errors: int
    charged_nano: int
    fee_nano: int

    @property
    def error_rate_bps(self) -> int:
        return self.errors * 10_000 // self.requests if self.requests else 0


@dataclass(frozen=True)
class TopUser:
    user_id: int
    email: str
    requests: int
    charged_nano: int


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    charged_nano: int
    fee_nano: int
    topups_nano: int
    requests: int
    errors: int


@dataclass(frozen=True)
class Overview:
    start: datetime
    money: Money
    models: list[ModelLine]
    top_users: list[TopUser]
    days: list[Day]


def start_of(period: str, now: datetime | None = None) -> datetime:
    days = PERIODS.get(period, 30)
    today = (now or utcnow()).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


async def overview(db: AsyncSession, period: str = "30d") -> Overview:
    start = start_of(period)
    dialect = dialect_name(db)
    coalesce = sa.func.coalesce

    def ledger_sum(*kinds: str) -> sa.ScalarSelect[int]:
        return (
            sa.select(coalesce(sa.func.sum(col(LedgerEntry.amount_nano)), 0))
            .where(col(LedgerEntry.kind).in_(kinds), col(LedgerEntry.created_at) >= start)
            .scalar_subquery()
        )

    topups, taken_back, losses = (
        await db.execute(
            sa.select(
                ledger_sum(billing.TOPUP),
                ledger_sum(billing.REFUND),  # refunds and disputes (won ones give back)
                sa.select(coalesce(sa.func.sum(col(OperatorLoss.amount_nano)), 0))
                .where(col(OperatorLoss.created_at) >= start)
                .scalar_subquery(),
            )
        )
    ).one()
    charged, fees = (
        await db.execute(
            sa.select(
                coalesce(sa.func.sum(col(H.charged_nano)), 0),
                coalesce(sa.func.sum(col(H.fee_nano)), 0),
            ).where(col(H.hour) >= start)
        )
    ).one()
    money = Money(
        int(topups),
        -int(taken_back),
        int(charged) - int(fees),  # a charge on our key is the provider's price plus markup
        int(fees),
        int(losses),
        int(charged),
    )

    models = [
        ModelLine(provider, model, int(n), int(errors), int(charged_), int(fee))
        for provider, model, n, errors, charged_, fee in await db.execute(
            sa.select(
                col(H.provider),
                col(H.model),
                sa.func.sum(col(H.requests)),
                sa.func.sum(col(H.errors)),
                sa.func.sum(col(H.charged_nano)),
                sa.func.sum(col(H.fee_nano)),
            )
            .where(col(H.hour) >= start)
            .group_by(col(H.provider), col(H.model))
            .order_by(sa.func.sum(col(H.requests)).desc())
        )
    ]

    spend = (
        sa.select(
            col(H.user_id).label("user_id"),
            sa.func.sum(col(H.requests)).label("requests"),
            sa.func.sum(col(H.charged_nano)).label("charged"),
        )
        .where(col(H.hour) >= start)
        .group_by(col(H.user_id))
        .subquery()
    )
    top_users = [
        TopUser(int(user_id), email, int(n), int(charged_))
        for user_id, email, n, charged_ in await db.execute(
            sa.select(spend.c.user_id, col(User.email), spend.c.requests, spend.c.charged)
            .join(User, col(User.id) == spend.c.user_id)
            .order_by(spend.c.charged.desc(), spend.c.user_id)
            .limit(TOP_USERS)
        )
    ]

    day = bucket_label(table_of(H).c.hour, "day", 0, dialect).label("day")
    usage_days = {
        d: (int(c), int(f), int(n), int(e))
        for d, c, f, n, e in await db.execute(
            sa.select(
                day,
                sa.func.sum(col(H.charged_nano)),
                sa.func.sum(col(H.fee_nano)),
                sa.func.sum(col(H.requests)),
                sa.func.sum(col(H.errors)),
            )
            .where(col(H.hour) >= start)
            .group_by(day)
        )
    }
    ledger_day = bucket_label(table_of(LedgerEntry).c.created_at, "day", 0, dialect).label("day")
    topup_days = {
        d: int(total)
        for d, total in await db.execute(
            sa.select(ledger_day, sa.func.sum(col(LedgerEntry.amount_nano)))
            .where(col(LedgerEntry.kind) == billing.TOPUP, col(LedgerEntry.created_at) >= start)
            .group_by(ledger_day)
        )
    }
    days = []
    for i in range(PERIODS.get(period, 30)):
        label = (start + timedelta(days=i)).date().isoformat()
        c, f, n, e = usage_days.get(label, (0, 0, 0, 0))
        days.append(Day(label, c, f, topup_days.get(label, 0), n, e))
    return Overview(start, money, models, top_users, days)
