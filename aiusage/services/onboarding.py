"""A new account's first steps: whether its first request through the proxy has arrived.

The Connect page asks every few seconds while it waits, so the question is one indexed
lookup (`ix_usage_user_created`) of the usage metadata: model and time, never content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import UsageRecord


@dataclass(frozen=True)
class FirstRequest:
    model: str
    at: datetime  # UTC


async def first_request(db: AsyncSession, user_id: int) -> FirstRequest | None:
    """The account's oldest recorded request, or None before the first one."""
    row = (
        await db.execute(
            select(UsageRecord.model, UsageRecord.created_at)
            .where(UsageRecord.user_id == user_id)
            .order_by(UsageRecord.created_at, UsageRecord.id)
            .limit(1)
        )
    ).one_or_none()
    return FirstRequest(row.model, row.created_at) if row else None
