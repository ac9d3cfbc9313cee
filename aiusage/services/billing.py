"""Balances, holds and the ledger. Every balance change is a ledger row written in the same
transaction as the balance update, so a balance always equals the sum of its ledger.

A request first *holds* its worst-case cost (an atomic conditional update, so concurrent
requests cannot overspend), then *settles*: the hold is released and the real charge booked.
A charge never takes a balance below zero: what a request cost beyond what its own hold and
the free balance cover is booked as an operator loss (see `cover_charges`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.db import rowcount, session_scope, write_lock
from aiusage.models import CheckoutSession, LedgerEntry, OperatorLoss, StripeEvent, User, utcnow
from aiusage.models.base import table_of
from aiusage.services import alerts
from aiusage.services.errors import NotFound, ServiceError
from aiusage.services.text import checked_text

TOPUP = "topup"
USAGE = "usage"
REFUND = "refund"
ADJUSTMENT = "adjustment"
GRANT = "grant"
KINDS = (TOPUP, USAGE, REFUND, ADJUSTMENT, GRANT)


async def place_hold(session: AsyncSession, user_id: int, amount_nano: int) -> bool:
    """Reserves `amount_nano` of the available balance; False when it does not fit.
    A user with nothing available is refused even for a free request."""
    result = await session.execute(
        update(User)
        .where(
            col(User.id) == user_id,
            col(User.balance_nano) - col(User.held_nano) >= max(amount_nano, 1),
        )
        .values(held_nano=col(User.held_nano) + amount_nano)
    )
    return rowcount(result) == 1


async def release_hold(session: AsyncSession, user_id: int, amount_nano: int) -> None:
    if amount_nano:
        await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(held_nano=col(User.held_nano) - amount_nano)
        )


async def book(
    session: AsyncSession,
    user_id: int,
    amount_nano: int,
    kind: str,
    description: str = "",
    *,
    reference: str | None = None,
    usage_id: int | None = None,
    release_nano: int = 0,
) -> LedgerEntry:
    """Changes the balance by `amount_nano` (negative = debit) and writes its ledger row,
    optionally releasing a hold in the same statement."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    balance_after = (
        await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(
                balance_nano=col(User.balance_nano) + amount_nano,
                held_nano=col(User.held_nano) - release_nano,
            )
            .returning(col(User.balance_nano))
        )
    ).scalar_one_or_none()
    if balance_after is None:
        raise NotFound("user_not_found", "No such account.")
    entry = LedgerEntry(
        user_id=user_id,
        kind=kind,
        amount_nano=amount_nano,
        balance_after_nano=balance_after,
        description=description[:255],
        reference=reference,
        usage_id=usage_id,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class DueCharge:
    user_id: int
    hold_nano: int  # released when this charge is booked
    charge_nano: int  # what the request cost the user at full price


async def cover_charges(session: AsyncSession, due: list[DueCharge]) -> list[int]:
    """How much of each charge the balances cover, in order: a charge may use its own hold
    and whatever is free (balance - held), never the holds of other requests in flight and
    never below zero. Locks the users' rows (PostgreSQL) until the caller's transaction
    ends, so the amounts stay true until they are booked; on SQLite the caller's transaction
    must already hold the write lock."""
    user_ids = sorted({item.user_id for item in due})
    users = table_of(User).c  # Core: this runs once per usage batch on the proxy's path
    rows = await session.execute(
        select(users.id, users.balance_nano, users.held_nano)
        .where(users.id.in_(user_ids))
        .order_by(users.id)
        .with_for_update()
    )
    return cover({user_id: (balance, held) for user_id, balance, held in rows}, due)


def cover(balances: dict[int, tuple[int, int]], due: list[DueCharge]) -> list[int]:
    """`cover_charges`' amounts from the users' (balance, held) as read in the transaction."""
    state = {user_id: list(pair) for user_id, pair in balances.items()}
    covered: list[int] = []
    for item in due:
        balance_and_held = state.get(item.user_id)
        if balance_and_held is None:  # the account is gone: nothing can be charged
            covered.append(0)
            continue
        balance, held = balance_and_held
        held -= item.hold_nano
        amount = max(0, min(item.charge_nano, balance - held))
        balance_and_held[:] = [balance - amount, held]
        covered.append(amount)
    return covered


async def book_losses(
    session: AsyncSession, losses: list[tuple[int, str, int]], reason: str
) -> None:
    """Operator loss lines: (user, request id, amount) that no balance covered."""
    rows = [
        {"user_id": user_id, "request_id": request_id, "amount_nano": amount, "reason": reason}
        for user_id, request_id, amount in losses
        if amount > 0
    ]
    if rows:
        now = utcnow()
        await session.execute(insert(OperatorLoss), [{**row, "created_at": now} for row in rows])


@dataclass(frozen=True)
class UsageCharge:
    user_id: int
    charge_nano: int
    hold_nano: int  # released in the same statement
    usage_id: int
    description: str


async def book_usage(session: AsyncSession, charges: list[UsageCharge]) -> None:
    """Books many usage charges at once: one balance update per user (releasing the holds)
    and one ledger row per charged request, whose balance-after follows the batch's order."""
    per_user: dict[int, list[UsageCharge]] = {}
    for charge in charges:
        per_user.setdefault(charge.user_id, []).append(charge)
    ledger_rows: list[dict[str, Any]] = []
    now = utcnow()
    for user_id, items in sorted(per_user.items()):  # one lock order across writers
        total = sum(item.charge_nano for item in items)
        users = table_of(User).c  # Core, not ORM-enabled DML: once per user and batch
        final = (
            await session.execute(
                update(table_of(User))
                .where(users.id == user_id)
                .values(
                    balance_nano=users.balance_nano - total,
                    held_nano=users.held_nano - sum(item.hold_nano for item in items),
                )
                .returning(users.balance_nano)
            )
        ).scalar_one()
        ledger_rows.extend(usage_ledger_rows(user_id, final, items, now))
    if ledger_rows:
        await session.execute(insert(LedgerEntry), ledger_rows)


def usage_ledger_rows(
    user_id: int, final_balance: int, items: list[UsageCharge], now: datetime
) -> list[dict[str, Any]]:
    """The ledger rows of one user's charges in a batch, given the balance after the batch's
    single update: each row's balance-after walks forward from the balance before it."""
    rows = []
    balance = final_balance + sum(item.charge_nano for item in items)
    for item in items:
        if not item.charge_nano:
            continue
        balance -= item.charge_nano
        rows.append(
            {
                "user_id": user_id,
                "created_at": now,
                "kind": USAGE,
                "amount_nano": -item.charge_nano,
                "balance_after_nano": balance,
                "description": item.description[:255],
                "usage_id": item.usage_id,
            }
        )
    return rows


async def grant(
    session: AsyncSession,
    user_id: int,
    amount_nano: int,
    description: str,
    *,
    kind: str = GRANT,
    reference: str | None = None,
) -> LedgerEntry:
    if amount_nano == 0:
        raise ServiceError("bad_amount", "The amount must not be zero.")
    return await book(session, user_id, amount_nano, kind, description, reference=reference)


async def ledger_sum(session: AsyncSession, user_id: int) -> int:
    return (
        await session.execute(
            select(func.coalesce(func.sum(col(LedgerEntry.amount_nano)), 0)).where(
                col(LedgerEntry.user_id) == user_id
            )
        )
    ).scalar_one()


async def balance(session: AsyncSession, user_id: int) -> tuple[int, int]:
    """(balance, held) in nano-USD."""
    row = (
        await session.execute(
            select(col(User.balance_nano), col(User.held_nano)).where(col(User.id) == user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("user_not_found", "No such account.")
    return row[0], row[1]


async def adjust(session: AsyncSession, user_id: int, amount_nano: int, reason: str) -> LedgerEntry:
    """An operator's correction of a balance, up or down, with the reason the user sees in
    their history. A credit re-arms the low-balance alert once clearly above it; a debit may
    send it."""
    reason = checked_text(reason, code="reason_required", max_chars=200)
    if not reason:
        raise ServiceError("reason_required", "Give a reason for the adjustment.")
    if amount_nano == 0:
        raise ServiceError("bad_amount", "The amount must not be zero.")
    entry = await book(session, user_id, amount_nano, ADJUSTMENT, reason)
    user = await session.get(User, user_id)
    assert user is not None
    await session.refresh(user)
    if amount_nano > 0:
        await alerts.rearm_if_clear(session, user)
    else:
        await alerts.after_charges(session, {user_id}, auto_topup=False)
    return entry


# --- top-ups and refunds, exactly once --------------------------------------------------
# Each is a ledger row with a UNIQUE `reference` written in one transaction with the handled
# Stripe event's row (UNIQUE event id) and the balance change: a unique violation means
# another delivery already booked it.


@dataclass
class Card:
    payment_method_id: str
    brand: str
    last4: str


def card_of(payment_method: Any) -> Card | None:
    if not isinstance(payment_method, dict):
        return None
    card = payment_method.get("card") or {}
    last4 = str(card.get("last4") or "")
    if not (len(last4) == 4 and last4.isascii() and last4.isdigit()):
        return None
    return Card(str(payment_method.get("id", ""))[:64], str(card.get("brand", ""))[:16], last4)


async def record_event(db: Any, event: dict[str, Any] | None) -> None:
    if event is not None:
        db.add(StripeEvent(event_id=event["id"], type=str(event.get("type", ""))[:64]))
        await db.flush()


async def reference_exists(db: Any, reference: str) -> bool:
    found = await db.execute(
        select(col(LedgerEntry.id)).where(col(LedgerEntry.reference) == reference)
    )
    return found.first() is not None


async def credit_topup(
    user_id: int,
    amount_nano: int,
    reference: str,
    *,
    event: dict[str, Any] | None = None,
    card: Card | None = None,
    checkout_session_id: str | None = None,
    automatic: bool = False,
) -> bool:
    """Books a paid top-up once (False when it was already booked) with its receipt mail."""
    now = utcnow()
    try:
        async with write_lock(), session_scope() as db:
            await record_event(db, event)
            if await reference_exists(db, reference):
                return False  # an earlier event credited it; this one is handled as a no-op
            if card is not None:
                await db.execute(
                    update(User)
                    .where(col(User.id) == user_id)
                    .values(
                        stripe_payment_method_id=card.payment_method_id or None,
                        card_brand=card.brand,
                        card_last4=card.last4,
                    )
                )
            user = await db.get(User, user_id)
            last4 = card.last4 if card else (user.card_last4 if user else None)
            what = "Auto top-up" if automatic else "Top-up"
            entry = await book(
                db,
                user_id,
                amount_nano,
                TOPUP,
                f"{what} by card •••• {last4}" if last4 else what,
                reference=reference,
            )
            if checkout_session_id is not None:
                await db.execute(
                    update(CheckoutSession)
                    .where(col(CheckoutSession.stripe_session_id) == checkout_session_id)
                    .values(status="paid", credited_at=now)
                )
            assert user is not None  # the account the credit above was booked to
            await db.refresh(user)
            await alerts.after_topup(db, user, entry, card_last4=last4, automatic=automatic)
    except IntegrityError:
        return False  # the same event or the same payment, booked by a concurrent delivery
    return True


async def debit(
    user_id: int,
    amount_nano: int,
    reference: str,
    description: str,
    *,
    event: dict[str, Any] | None = None,
    stop_auto_topup: bool = False,
) -> bool:
    """Books a refund or dispute once (the balance may go negative)."""
    try:
        async with write_lock(), session_scope() as db:
            await record_event(db, event)
            if amount_nano <= 0 or await reference_exists(db, reference):
                return False
            await book(db, user_id, -amount_nano, REFUND, description, reference=reference)
            if stop_auto_topup:
                await db.execute(
                    update(User).where(col(User.id) == user_id).values(auto_topup_enabled=False)
                )
            await alerts.after_charges(db, {user_id}, auto_topup=False)
    except IntegrityError:
        return False
    return True
