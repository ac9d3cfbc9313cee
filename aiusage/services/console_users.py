"""The console's users: finding an account, everything an operator sees about it (never a
secret: keys by prefix, provider keys by their last four), and the actions on it — a credit
adjustment with its reason, suspension, a two-factor reset, the verification mail again.

Every action checks the operator's role itself and writes its audit entry in the same
transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import stripe
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.models import Hold, LedgerEntry, ProxyKey, SupportMessage, UsageHourly, User, utcnow
from aiusage.money import parse_dollars
from aiusage.services import (
    accounts,
    audit,
    billing,
    key_events,
    keys,
    sessions,
    stripe_client,
    twofactor,
)
from aiusage.services.errors import ServiceError
from aiusage.services.roles import Operator

SEARCH_LIMIT = 50
MAX_ADJUST_USD = Decimal(100_000)  # one correction; more is a typo, or needs several
LEDGER_ROWS = 50


@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    balance_nano: int
    created_at: datetime
    role: str | None
    suspended: bool
    closed: bool


def _summary(user: User) -> UserSummary:
    return UserSummary(
        user.id or 0,
        user.email,
        user.balance_nano,
        user.created_at,
        user.role,
        user.suspended_at is not None,
        user.closed_at is not None,
    )


async def search(db: AsyncSession, query: str) -> list[UserSummary]:
    """Accounts whose email contains `query` (case-insensitive), or the one with that id;
    the newest first. An empty query lists the newest accounts."""
    query = " ".join((query or "").split())[:320]
    statement = sa.select(User).order_by(col(User.id).desc()).limit(SEARCH_LIMIT)
    if query.isascii() and query.isdigit() and len(query) <= 18:
        statement = statement.where(
            sa.or_(col(User.id) == int(query), col(User.email).contains(query, autoescape=True))
        )
    elif query:
        statement = statement.where(
            sa.func.lower(col(User.email)).contains(query.lower(), autoescape=True)
        )
    return [_summary(user) for user in (await db.execute(statement)).scalars()]


@dataclass(frozen=True)
class UserDetail:
    user: UserSummary
    locale: str
    verified: bool
    two_factor: bool
    held_nano: int
    holds: list[Hold]
    ledger: list[LedgerEntry]
    proxy_keys: list[ProxyKey]
    provider_keys: list[keys.ProviderKeyInfo]
    sessions: list[sessions.SessionInfo]
    support: list[SupportMessage]
    requests_30d: int
    charged_30d_nano: int


async def _user(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise ServiceError("user_not_found", "There is no such account.", status=404)
    return user


async def detail(db: AsyncSession, user_id: int) -> UserDetail:
    user = await _user(db, user_id)
    since = utcnow() - timedelta(days=30)
    requests, charged = (
        await db.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(col(UsageHourly.requests)), 0),
                sa.func.coalesce(sa.func.sum(col(UsageHourly.charged_nano)), 0),
            ).where(col(UsageHourly.user_id) == user_id, col(UsageHourly.hour) >= since)
        )
    ).one()

    async def rows(
        model: type[Hold] | type[LedgerEntry] | type[SupportMessage],
        order: sa.SQLColumnExpression[Any] | sa.UnaryExpression[Any],
        limit: int = LEDGER_ROWS,
    ) -> list[Any]:
        statement = sa.select(model).where(col(model.user_id) == user_id)
        return list((await db.execute(statement.order_by(order).limit(limit))).scalars())

    return UserDetail(
        _summary(user),
        user.locale,
        user.email_verified_at is not None,
        await twofactor.is_enabled(db, user_id),
        user.held_nano,
        await rows(Hold, col(Hold.request_id)),
        await rows(LedgerEntry, col(LedgerEntry.id).desc()),
        await keys.list_proxy_keys(db, user_id),
        await keys.list_provider_keys(db, user_id),
        await sessions.list_sessions(db, user_id),
        await rows(SupportMessage, col(SupportMessage.id).desc(), 20),
        int(requests),
        int(charged),
    )


def parse_adjustment(text: str) -> int:
    """An adjustment as typed: dollars, '-' in front for a debit ('-2.50'), never zero."""
    text = (text or "").strip()
    sign = -1 if text.startswith("-") else 1
    amount = parse_dollars(text.removeprefix("-"), code="bad_amount", maximum=MAX_ADJUST_USD)
    if not amount:
        raise ServiceError("bad_amount", "The amount must not be zero.")
    return sign * amount


async def adjust_credit(
    db: AsyncSession, actor: Operator, user_id: int, amount_nano: int, reason: str
) -> LedgerEntry:
    """A correction of the balance, up or down; the reason is required and shown to the user
    in their history."""
    actor.require("credit")
    user = await _user(db, user_id)
    before = user.balance_nano
    entry = await billing.adjust(db, user_id, amount_nano, reason)
    await audit.record(
        db,
        actor,
        "credit.adjust",
        "user",
        user_id,
        before={"balance_nano": before},
        after={"balance_nano": entry.balance_after_nano, "amount_nano": amount_nano},
        reason=entry.description,
    )
    return entry


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError("reason_required", "Give a reason.")
    return reason[:500]


async def set_suspended(
    db: AsyncSession, actor: Operator, user_id: int, suspended: bool, reason: str
) -> None:
    """Suspends (or lifts the suspension of) an account: it cannot sign in, its browsers are
    signed out, and its keys are refused (403) at once (services/key_events.py)."""
    actor.require("suspend")
    reason = _reason(reason)
    user = await _user(db, user_id)
    if user.id == actor.id:
        raise ServiceError("suspend_self", "You cannot suspend your own account.")
    before = user.suspended_at
    if suspended and before is None:
        user.suspended_at = utcnow()
        await sessions.end_all_sessions(db, user_id)
    elif not suspended:
        user.suspended_at = None
    key_events.changed(db, user_id)
    await audit.record(
        db,
        actor,
        "user.suspend" if suspended else "user.unsuspend",
        "user",
        user_id,
        before={"suspended_at": before},
        after={"suspended_at": user.suspended_at},
        reason=reason,
    )


async def reset_two_factor(db: AsyncSession, actor: Operator, user_id: int, reason: str) -> bool:
    """Turns the account's second factor off (a user who lost it, after checking who they
    are); True if it was on."""
    actor.require("reset_2fa")
    reason = _reason(reason)
    await _user(db, user_id)
    was_on = await twofactor.forget(db, user_id)
    await audit.record(
        db,
        actor,
        "user.reset_2fa",
        "user",
        user_id,
        before={"two_factor": was_on},
        after={"two_factor": False},
        reason=reason,
    )
    return was_on


def _payment_reference(entry: LedgerEntry) -> str:
    reference = entry.reference or ""
    if entry.kind != billing.TOPUP or not reference.startswith(("checkout:", "pi:")):
        raise ServiceError("not_a_topup", "Only a top-up paid by card can be refunded.")
    return reference


async def refund_topup(
    db: AsyncSession, actor: Operator, user_id: int, entry_id: int, reason: str
) -> str:
    """Asks Stripe to refund a top-up in full; returns the refund's id. The balance is
    debited when Stripe's `charge.refunded` event arrives, exactly once however often it is
    delivered (services/stripe_webhooks.py) — never here, so a refund Stripe refuses takes
    nothing. Stripe's idempotency key makes a second click the same refund, not another."""
    actor.require("refund")
    reason = _reason(reason)
    entry = await db.get(LedgerEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        raise ServiceError("not_a_topup", "Only a top-up paid by card can be refunded.")
    reference = _payment_reference(entry)
    if not stripe_client.configured():
        raise ServiceError("stripe_not_configured", "Card payments are not set up.")
    api = stripe_client.client().v1
    kind, _, stripe_id = reference.partition(":")
    cents = entry.amount_nano // stripe_client.NANO_PER_CENT
    try:
        if kind == "checkout":
            session = await stripe_client.call(api.checkout.sessions.retrieve, stripe_id)
            stripe_id = str(session.get("payment_intent") or "")
        refund = await stripe_client.call(
            api.refunds.create,
            {"payment_intent": stripe_id, "amount": cents},
            {"idempotency_key": f"aiusage-refund-{entry.id}"},
        )
    except stripe.StripeError as error:
        # Stripe's message can name the charge: kept out of the page, the code says enough.
        raise ServiceError("refund_failed", "Stripe refused the refund.", status=502) from error
    await audit.record(
        db,
        actor,
        "topup.refund",
        "user",
        user_id,
        before={"ledger_id": entry.id, "amount_nano": entry.amount_nano},
        after={"refund": refund.get("id"), "status": refund.get("status")},
        reason=reason,
    )
    return str(refund.get("id"))


async def resend_verification(db: AsyncSession, actor: Operator, user_id: int) -> None:
    actor.require("resend_verification")
    user = await _user(db, user_id)
    if user.email_verified_at is not None:
        raise ServiceError("already_verified", "This address is confirmed already.")
    await accounts.send_verification(db, user)
    await audit.record(db, actor, "user.resend_verification", "user", user_id)
