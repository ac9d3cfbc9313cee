"""Top-ups: the amounts offered, Stripe Checkout for a chosen amount, the automatic top-up
of a saved card when the balance falls below the user's amount, and the history the billing
page shows. Credit is booked only by `billing.credit_topup`, once Stripe confirmed the
payment (see `stripe_webhooks`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import stripe
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.models import CheckoutSession, User, utcnow
from aiusage.money import parse_dollars, usd_to_nano
from aiusage.services import alerts, billing
from aiusage.services.errors import NotFound, ServiceError
from aiusage.services.stripe_client import NANO_PER_CENT, Unavailable, call, client, configured

log = logging.getLogger("aiusage.payments")


def presets_usd() -> list[Decimal]:
    settings = get_settings()
    values = []
    for part in settings.topup_presets_usd.split(","):
        try:
            value = Decimal(part.strip())
        except InvalidOperation:
            continue
        if settings.topup_min_usd <= value <= settings.topup_max_usd:
            values.append(value)
    return values


def parse_amount(text: str) -> int:
    """A top-up amount in dollars (the form's text) → cents, within the configured range."""
    settings = get_settings()
    nano = parse_dollars(text, code="topup_amount_invalid", cents=True)
    assert nano is not None
    if not usd_to_nano(settings.topup_min_usd) <= nano <= usd_to_nano(settings.topup_max_usd):
        raise ServiceError(
            "topup_amount_range",
            f"Top up between ${settings.topup_min_usd} and ${settings.topup_max_usd}.",
        )
    return nano // NANO_PER_CENT


async def set_auto_topup(
    session: AsyncSession, user: User, enabled: bool, below_text: str, amount_text: str
) -> None:
    """The user's auto top-up: when on, a charge of `amount` to the saved card whenever the
    balance falls below `below` (within the top-up range; a card must be saved). Errors:
    ServiceError "amount", "auto_range" or "no_card"."""
    settings = get_settings()
    below = parse_dollars(below_text or "0", code="amount", cents=True) or 0
    amount = parse_dollars(amount_text or "0", code="amount", cents=True) or 0
    if enabled:
        low, high = usd_to_nano(settings.topup_min_usd), usd_to_nano(settings.topup_max_usd)
        if below <= 0 or not low <= amount <= high:
            raise ServiceError("auto_range", "The auto top-up is outside the top-up range.")
        if not user.card_last4 or not user.stripe_payment_method_id:
            raise ServiceError("no_card", "Top up once by card first.")
    await session.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(
            auto_topup_enabled=enabled,
            auto_topup_below_nano=below or None,
            auto_topup_amount_nano=amount or None,
        )
    )


# --- customers and Checkout ----------------------------------------------------------------


async def ensure_customer(user_id: int) -> str:
    """The user's Stripe customer id, created on first use and stored."""
    async with session_scope() as db:
        user = await db.get(User, user_id)
        if user is None:
            raise NotFound("user_not_found", "No such account.")
    if user.stripe_customer_id:
        return user.stripe_customer_id
    customer = await call(
        client().v1.customers.create,
        {"email": user.email, "metadata": {"user_id": str(user_id)}},
        # Two first top-ups at once get the same customer.
        {"idempotency_key": f"aiusage-customer-{user_id}-{int(user.created_at.timestamp())}"},
    )
    async with write_lock(), session_scope() as db:
        await db.execute(
            update(User)
            .where(col(User.id) == user_id, col(User.stripe_customer_id).is_(None))
            .values(stripe_customer_id=customer["id"])
        )
        stored = (
            await db.execute(select(col(User.stripe_customer_id)).where(col(User.id) == user_id))
        ).scalar_one()
    assert stored is not None  # set just now, or by a concurrent first top-up
    return stored


async def start_checkout(user_id: int, amount_text: str) -> str:
    """Creates a Checkout Session (mode payment) for a top-up; returns Stripe's page URL."""
    if not configured():
        raise ServiceError("topup_not_configured", "Top-up is not configured.", status=503)
    cents = parse_amount(amount_text)
    settings = get_settings()
    try:
        customer = await ensure_customer(user_id)
        session = await call(
            client().v1.checkout.sessions.create,
            {
                "mode": "payment",
                "customer": customer,
                "client_reference_id": str(user_id),
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": settings.currency,
                            "unit_amount": cents,
                            "product_data": {"name": "aiusage credit"},
                        },
                    }
                ],
                # Saves the card for auto top-up (charged later, off-session).
                "payment_intent_data": {"setup_future_usage": "off_session"},
                "metadata": {"user_id": str(user_id), "kind": "topup"},
                "success_url": (
                    f"{settings.site_url}/dashboard/billing/success"
                    "?session_id={CHECKOUT_SESSION_ID}"
                ),
                "cancel_url": f"{settings.site_url}/dashboard/billing/cancel",
            },
        )
    except stripe.StripeError as error:
        log.warning("creating a Checkout Session failed: %s", type(error).__name__)
        raise Unavailable("stripe_unavailable", "The payment provider did not answer.") from None
    async with write_lock(), session_scope() as db:
        db.add(
            CheckoutSession(
                stripe_session_id=session["id"],
                user_id=user_id,
                amount_nano=cents * NANO_PER_CENT,
                currency=settings.currency,
            )
        )
    url: str = session["url"]
    return url


async def checkout_status(user_id: int, stripe_session_id: str) -> str | None:
    """'credited', 'pending' or None (not this user's session)."""
    async with session_scope() as db:
        row = (
            await db.execute(
                select(CheckoutSession).where(
                    col(CheckoutSession.stripe_session_id) == stripe_session_id,
                    col(CheckoutSession.user_id) == user_id,
                )
            )
        ).scalar_one_or_none()
    if row is None:
        return None
    return "credited" if row.credited_at is not None else "pending"


# --- auto top-up ---------------------------------------------------------------------------

_background: set[asyncio.Task[Any]] = set()


def schedule_auto_topups(user_ids: set[int]) -> None:
    """Starts the auto top-ups in the background (called after the usage batch committed)."""
    if not configured():
        return
    for user_id in user_ids:
        task = asyncio.get_running_loop().create_task(auto_topup(user_id))
        _background.add(task)
        task.add_done_callback(_background.discard)


async def auto_topup(user_id: int) -> str:
    """Charges the saved card off-session when the balance is below the user's amount, at
    most once per configured interval. Returns what happened."""
    if not configured():
        return "not_configured"
    settings = get_settings()
    now = utcnow()
    cutoff = now - timedelta(minutes=settings.auto_topup_min_interval_minutes)
    async with write_lock(), session_scope() as db:
        claimed = (
            await db.execute(
                update(User)
                .where(
                    col(User.id) == user_id,
                    col(User.closed_at).is_(None),
                    col(User.auto_topup_enabled).is_(True),
                    col(User.stripe_customer_id).is_not(None),
                    col(User.stripe_payment_method_id).is_not(None),
                    col(User.auto_topup_amount_nano).is_not(None),
                    col(User.balance_nano) < col(User.auto_topup_below_nano),
                    or_(
                        col(User.auto_topup_last_at).is_(None),
                        col(User.auto_topup_last_at) <= cutoff,
                    ),
                )
                .values(auto_topup_last_at=now)
                .returning(
                    col(User.stripe_customer_id),
                    col(User.stripe_payment_method_id),
                    col(User.auto_topup_amount_nano),
                )
            )
        ).one_or_none()
    if claimed is None:
        return "skipped"
    customer, payment_method, amount_nano = claimed
    assert amount_nano is not None  # the claim above only matches accounts that set one
    cents = amount_nano // NANO_PER_CENT
    try:
        intent = await call(
            client().v1.payment_intents.create,
            {
                "amount": cents,
                "currency": settings.currency,
                "customer": customer,
                "payment_method": payment_method,
                "off_session": True,
                "confirm": True,
                "description": "aiusage auto top-up",
                "metadata": {"user_id": str(user_id), "kind": "auto_topup"},
            },
            {"idempotency_key": f"aiusage-auto-topup-{user_id}-{int(now.timestamp())}"},
        )
    except stripe.CardError as error:
        await _auto_topup_failed(user_id, error.user_message or "declined")
        return "declined"
    except stripe.StripeError as error:
        log.warning("auto top-up for user %s failed: %s", user_id, type(error).__name__)
        return "failed"
    if intent.get("status") != "succeeded":  # e.g. the bank wants the card holder present
        await _auto_topup_failed(user_id, str(intent.get("status")))
        return "declined"
    credited = await billing.credit_topup(
        user_id, cents * NANO_PER_CENT, f"pi:{intent['id']}", automatic=True
    )
    return "credited" if credited else "already_credited"


async def _auto_topup_failed(user_id: int, reason: str) -> None:
    async with write_lock(), session_scope() as db:
        await db.execute(
            update(User).where(col(User.id) == user_id).values(auto_topup_enabled=False)
        )
        user = await db.get(User, user_id)
        if user is not None:
            await alerts.auto_topup_declined(db, user, reason)
