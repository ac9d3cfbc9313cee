"""Budget alert mails: when a key's spend this period crosses one of its alert percentages
(50, 80 and 100 % by default), its owner gets one mail, in their language — once per
percentage and period. Runs in the usage writer's transaction, after the keys' spend was
booked; a conditional UPDATE claims each mail, so concurrent writers send it once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.i18n import t
from aiusage.i18n.formatting import format_money
from aiusage.models import ProxyKey, User
from aiusage.services import email, key_rules


def crossed_percent(key: ProxyKey) -> int:
    """The highest alert percentage the key's spend this period has reached (0: none)."""
    if not key.budget_nano:
        return 0
    reached = [
        percent
        for percent in key_rules.alert_percents(key.budget_alerts)
        if key.period_spent_nano * 100 >= key.budget_nano * percent
    ]
    return max(reached, default=0)


async def after_key_charges(session: AsyncSession, key_ids: set[int], now: datetime) -> None:
    if not key_ids:
        return
    rows = (
        await session.execute(
            select(ProxyKey, User)
            .join(User, col(User.id) == col(ProxyKey.user_id))
            .where(
                col(ProxyKey.id).in_(key_ids),
                col(ProxyKey.budget_nano).is_not(None),
                col(ProxyKey.budget_period).is_not(None),
                col(ProxyKey.budget_alerts) != "",
                col(User.closed_at).is_(None),
            )
        )
    ).all()
    for key, user in rows:
        assert key.budget_period is not None and key.budget_nano is not None
        period = key_rules.period_start_ms(key.budget_period, now)
        percent = crossed_percent(key)
        if key.period_start_ms != period or percent == 0:
            continue
        claimed = await session.execute(
            update(ProxyKey)
            .where(
                col(ProxyKey.id) == key.id,
                or_(
                    col(ProxyKey.budget_alerted_period_ms) != period,
                    col(ProxyKey.budget_alerted_percent) < percent,
                ),
            )
            .values(budget_alerted_percent=percent, budget_alerted_period_ms=period)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) == 1:
            await _mail(session, key, user, percent, now)


async def _mail(
    session: AsyncSession, key: ProxyKey, user: User, percent: int, now: datetime
) -> None:
    assert key.budget_period is not None and key.budget_nano is not None
    reset = key_rules.next_reset(key.budget_period, now)
    values = {
        "name": key.name,
        "percent": percent,
        "spent": format_money(key.period_spent_nano, user.locale),
        "budget": format_money(key.budget_nano, user.locale),
        "period": t(user.locale, f"mail.key_budget.period.{key.budget_period}"),
        "reset": f"{reset:%Y-%m-%d %H:%M} UTC",
        "link": f"{get_settings().site_url}/dashboard/keys",
    }
    await email.enqueue_translated(session, user.email, user.locale, "mail.key_budget", **values)
