"""Low-balance alerts, receipts and the auto top-up trigger, all in the caller's transaction.

A low-balance alert goes out once when the balance falls below the user's threshold
(`low_balance_alerted_at` remembers it), and again only after a credit has brought the balance
clearly above the threshold (`rearm_level`) and it has fallen again."""

from __future__ import annotations

from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.i18n import t
from aiusage.i18n.formatting import format_datetime, format_money
from aiusage.models import LedgerEntry, User, utcnow
from aiusage.money import NANO_PER_USD, usd_to_nano
from aiusage.services import email


def default_threshold_nano() -> int:
    return usd_to_nano(get_settings().low_balance_default_usd)


def threshold_nano(user: User) -> int:
    """The user's alert threshold (0 = no alerts)."""
    if user.low_balance_threshold_nano is not None:
        return user.low_balance_threshold_nano
    return default_threshold_nano()


def rearm_level(threshold: int) -> int:
    """'Clearly above' the threshold: 20 % over it, and at least a dollar."""
    return threshold + max(threshold // 5, NANO_PER_USD)


def is_low(user: User) -> bool:
    threshold = threshold_nano(user)
    return threshold > 0 and user.balance_nano < threshold


def _billing_link() -> str:
    return f"{get_settings().site_url}/dashboard/billing"


async def after_charges(
    session: AsyncSession, user_ids: set[int], *, auto_topup: bool = True
) -> set[int]:
    """After usage (or a refund) was charged to `user_ids`, in the same transaction: the
    low-balance mail for those who just fell below their threshold. Returns those below
    their auto top-up amount (with `auto_topup`): the caller starts their top-ups once its
    transaction has committed (`topups.schedule_auto_topups`), never inside it."""
    if not user_ids:
        return set()
    threshold = func.coalesce(col(User.low_balance_threshold_nano), default_threshold_nano())
    fallen = (
        await session.execute(
            select(User).where(
                col(User.id).in_(user_ids),
                col(User.closed_at).is_(None),
                col(User.low_balance_alerted_at).is_(None),
                threshold > 0,
                col(User.balance_nano) < threshold,
            )
        )
    ).scalars()
    now = utcnow()
    for user in list(fallen):
        claimed = await session.execute(
            update(User)
            .where(col(User.id) == user.id, col(User.low_balance_alerted_at).is_(None))
            .values(low_balance_alerted_at=now)
        )
        if rowcount(claimed) == 1:
            await _low_balance_mail(session, user)
    if auto_topup:
        due = set(
            (
                await session.execute(
                    select(col(User.id)).where(
                        col(User.id).in_(user_ids),
                        col(User.auto_topup_enabled).is_(True),
                        col(User.balance_nano) < col(User.auto_topup_below_nano),
                    )
                )
            ).scalars()
        )
        return cast("set[int]", due)  # primary keys: never NULL
    return set()


async def _low_balance_mail(session: AsyncSession, user: User) -> None:
    threshold = threshold_nano(user)
    values = {
        "balance": format_money(user.balance_nano, user.locale),
        "threshold": format_money(threshold, user.locale),
        "rearm": format_money(rearm_level(threshold), user.locale),
        "link": _billing_link(),
    }
    await email.enqueue_translated(session, user.email, user.locale, "mail.low_balance", **values)


async def rearm_if_clear(session: AsyncSession, user: User) -> None:
    """After a credit: a balance clearly above the threshold lets the next fall alert again."""
    if user.low_balance_alerted_at is not None and user.balance_nano >= rearm_level(
        threshold_nano(user)
    ):
        await session.execute(
            update(User).where(col(User.id) == user.id).values(low_balance_alerted_at=None)
        )
        user.low_balance_alerted_at = None


async def after_topup(
    session: AsyncSession,
    user: User,
    entry: LedgerEntry,
    *,
    card_last4: str | None,
    automatic: bool,
) -> None:
    """A paid top-up was booked (`user` is current): the receipt, and re-arming the alert."""
    await rearm_if_clear(session, user)
    lang = user.locale
    method = t(
        lang, "mail.receipt.auto" if automatic else "mail.receipt.card", last4=card_last4 or "—"
    )
    values = {
        "amount": format_money(entry.amount_nano, lang),
        "balance": format_money(entry.balance_after_nano, lang),
        "method": method,
        "date": format_datetime(entry.created_at, lang),  # UTC, labelled
        "reference": f"#{entry.id}",
        "link": _billing_link(),
    }
    await email.enqueue_translated(session, user.email, lang, "mail.receipt", **values)


async def auto_topup_declined(session: AsyncSession, user: User, reason: str) -> None:
    values = {"reason": reason[:200], "link": _billing_link()}
    await email.enqueue_translated(
        session, user.email, user.locale, "mail.auto_topup_declined", **values
    )
