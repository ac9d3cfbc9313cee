"""What the billing page shows beyond `topups`: the history in the browser's time zone, and
whether auto top-up can be set up at all.

The history rolls usage charges up per *local* day (the browser's offset, as the usage pages
bucket days), so a day's total on this page is the same day the usage page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.db import dialect_name
from aiusage.models import LedgerEntry, User
from aiusage.models.base import table_of
from aiusage.services import billing, stripe_client
from aiusage.services.usage import bucket_label, clamp_offset

# Why auto top-up cannot be turned on (None: it can).
NOT_CONFIGURED = "not_configured"  # no Stripe key: no card can be charged
NO_CARD = "no_card"  # no card saved yet: a top-up by card (Checkout) saves one


@dataclass
class HistoryRow:
    at: datetime  # UTC: of the change, or of the day's last usage charge
    kind: str
    amount_nano: int
    balance_after_nano: int
    description: str
    requests: int = 0  # usage rows: charges rolled into this day


def auto_topup_blocker(user: User) -> str | None:
    """NOT_CONFIGURED, NO_CARD, or None when auto top-up can be set (the same conditions
    `topups.set_auto_topup` and `topups.auto_topup` require)."""
    if not stripe_client.configured():
        return NOT_CONFIGURED
    if not user.card_last4 or not user.stripe_payment_method_id:
        return NO_CARD
    return None


async def history(
    db: AsyncSession, user_id: int, tz_offset_min: int, limit: int = 100
) -> list[HistoryRow]:
    """Every top-up, refund, adjustment and grant, and usage charges rolled up per local day
    (local = UTC + tz_offset_min), newest first. A day's row carries the time and balance
    after its last usage charge."""
    others = (
        await db.execute(
            select(LedgerEntry)
            .where(col(LedgerEntry.user_id) == user_id, col(LedgerEntry.kind) != billing.USAGE)
            .order_by(col(LedgerEntry.id).desc())
            .limit(limit)
        )
    ).scalars()
    rows = [
        HistoryRow(e.created_at, e.kind, e.amount_nano, e.balance_after_nano, e.description)
        for e in others
    ]
    day = bucket_label(
        table_of(LedgerEntry).c.created_at, "day", clamp_offset(tz_offset_min), dialect_name(db)
    )
    days = (
        await db.execute(
            select(
                func.sum(col(LedgerEntry.amount_nano)), func.max(col(LedgerEntry.id)), func.count()
            )
            .where(col(LedgerEntry.user_id) == user_id, col(LedgerEntry.kind) == billing.USAGE)
            .group_by(day)
            .order_by(day.desc())
            .limit(limit)
        )
    ).all()
    if days:
        last = {
            e.id: e
            for e in (
                await db.execute(
                    select(LedgerEntry).where(col(LedgerEntry.id).in_([d[1] for d in days]))
                )
            ).scalars()
        }
        for total, last_id, count in days:
            entry = last[last_id]
            rows.append(
                HistoryRow(
                    entry.created_at,
                    billing.USAGE,
                    int(total),
                    entry.balance_after_nano,
                    "",
                    requests=int(count),
                )
            )
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]
