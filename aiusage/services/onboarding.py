"""The first five minutes: which of the steps to a first proxied request an account has done.

Reads only; the overview shows the steps as a checklist until all of them are done."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
                exists(ProxyKey, ProxyKey.revoked_at.is_(None)),
                exists(UsageRecord),
                sa.select(User.balance_nano - User.held_nano)
                .where(User.id == user_id)
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
