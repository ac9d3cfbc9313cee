"""The first five minutes: which of the steps to a first proxied request an account has done
(the overview's checklist), and the first request itself (the Connect page asks every few
seconds while it waits: one indexed lookup of model and time, never content).

Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.models import ProviderKey, ProxyKey, UsageRecord, User


@dataclass(frozen=True)
class Onboarding:
    provider_key: bool  # one of the user's own Anthropic/OpenAI keys is stored
    credit: bool  # the balance can pay for requests (or a key's fee)
    proxy_key: bool  # an active proxy key exists
    first_request: bool  # a request has gone through the proxy

    @property
    def payment_ready(self) -> bool:
        """Step one: either way of paying for requests."""
        return self.provider_key or self.credit

    @property
    def done(self) -> bool:
        return self.payment_ready and self.proxy_key and self.first_request


async def onboarding(db: AsyncSession, user_id: int) -> Onboarding:
    def exists(model: type, *where: sa.ColumnElement[bool]) -> sa.Exists:
        return sa.exists().where(model.user_id == user_id, *where)  # type: ignore[attr-defined]

    row = (
        await db.execute(
            sa.select(
                exists(ProviderKey),
                exists(ProxyKey, col(ProxyKey.revoked_at).is_(None)),
                exists(UsageRecord),
                sa.select(col(User.balance_nano) - col(User.held_nano))
                .where(col(User.id) == user_id)
                .scalar_subquery(),
            )
        )
    ).one()
    provider_key, proxy_key, first_request, available = row
    return Onboarding(
        provider_key=bool(provider_key),
        credit=(available or 0) > 0,
        proxy_key=bool(proxy_key),
        first_request=bool(first_request),
    )


@dataclass(frozen=True)
class FirstRequest:
    model: str
    at: datetime  # UTC


async def first_request(db: AsyncSession, user_id: int) -> FirstRequest | None:
    """The account's oldest recorded request, or None before the first one."""
    row = (
        await db.execute(
            sa.select(col(UsageRecord.model), col(UsageRecord.created_at))
            .where(col(UsageRecord.user_id) == user_id)
            .order_by(col(UsageRecord.created_at), col(UsageRecord.id))
            .limit(1)
        )
    ).one_or_none()
    return FirstRequest(row.model, row.created_at) if row else None
