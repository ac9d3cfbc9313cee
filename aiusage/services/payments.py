"""Stripe: top-up with Checkout, the webhook (exactly once), refunds and disputes, auto top-up.

Credit is only ever minted after Stripe's own API confirmed the payment: a webhook event is
a hint (signature checked with the library and the configured secret), never the truth. A
leaked webhook secret can therefore not create money.

Exactly once: each credit or debit is a ledger row with a UNIQUE `reference`
(`checkout:<session>`, `pi:<payment intent>`, `refund:<refund>`, `dispute:<dispute>`,
`dispute_won:<dispute>`) written in one transaction with the handled event's StripeEvent row
(UNIQUE event id) and the balance change. A unique violation means another delivery already
did it: the database, not a check before the write, makes a second booking impossible.

Refunds and disputes of a charge. Every `charge.refunded` and `charge.dispute.*` event
brings the ledger up to date with what Stripe's API says of the whole charge now (its
refunds, then its disputes, looked up in that order), in one transaction that first locks
the account's row, so concurrent or replayed events for one charge take turns and each one
books only what the ones before it did not:

* each refund (succeeded or pending) is debited once, as `refund:<re_id>`;
* a dispute is debited once when it is first seen, as `dispute:<dp_id>`; once it is `won`
  (or an inquiry closed, `warning_closed`, or `prevented`) exactly what it debited is
  credited back, once, as `dispute_won:<dp_id>`; `lost` changes nothing further;
* the rule for a charge both refunded and disputed: what is taken back for one charge
  (its refunds plus its disputes not won) never exceeds the charge's amount. Each debit
  books at most what is left of the charge after the debits booked before it; within one
  update, won disputes are credited back first, then refunds (oldest first), then new
  disputes. So a dispute of a charge already refunded in full debits nothing, and of one
  refunded in part only the rest; a won dispute gives back what it took, no more. A refund
  squeezed by a dispute later won (Stripe refunds a disputed charge only once the dispute is
  won, so only events out of order can do this) books its remainder as
  `refund:<re_id>:<n>` when the win is booked.

Charges refunded before this scheme were booked as `charge_refund:<charge>:<cents>`; those
rows count as the charge's oldest refunds.

The `stripe` library's HTTP calls are synchronous: they run in a worker thread so the event
loop (proxy and dashboard) never waits on Stripe."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
import stripe
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.models import CheckoutSession, LedgerEntry, StripeEvent, User, utcnow
from aiusage.money import NANO_PER_USD, format_usd
from aiusage.services import alerts, billing
from aiusage.services.errors import NotFound, ServiceError

log = logging.getLogger("aiusage.payments")

NANO_PER_CENT = NANO_PER_USD // 100
MAX_WEBHOOK_BYTES = 512 * 1024


# --- configuration -------------------------------------------------------------------------


def configured() -> bool:
    return bool(get_settings().stripe_secret_key)


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
    try:
        value = Decimal(text.strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise ServiceError("topup_amount_invalid", "Give the amount in dollars.") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ServiceError("topup_amount_invalid", "Give the amount in dollars and cents.")
    if not settings.topup_min_usd <= value <= settings.topup_max_usd:
        raise ServiceError(
            "topup_amount_range",
            f"Top up between ${settings.topup_min_usd} and ${settings.topup_max_usd}.",
        )
    return int(value * 100)


@functools.cache
def _client_for(secret_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=1)


def client() -> stripe.StripeClient:
    settings = get_settings()
    return _client_for(settings.stripe_secret_key, settings.stripe_api_base)


async def _call(method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One Stripe API call in a worker thread; the answer as plain dicts."""
    result = await anyio.to_thread.run_sync(functools.partial(method, *args, **kwargs))
    return result.to_dict()


class Unavailable(ServiceError):
    status = 502


# --- customers and Checkout ----------------------------------------------------------------


async def ensure_customer(user_id: int) -> str:
    """The user's Stripe customer id, created on first use and stored."""
    async with session_scope() as db:
        user = await db.get(User, user_id)
        if user is None:
            raise NotFound("user_not_found", "No such account.")
    if user.stripe_customer_id:
        return user.stripe_customer_id
    customer = await _call(
        client().v1.customers.create,
        {"email": user.email, "metadata": {"user_id": str(user_id)}},
        # Two first top-ups at once get the same customer.
        {"idempotency_key": f"aiusage-customer-{user_id}-{int(user.created_at.timestamp())}"},
    )
    async with write_lock(), session_scope() as db:
        await db.execute(
            update(User)
            .where(User.id == user_id, User.stripe_customer_id.is_(None))
            .values(stripe_customer_id=customer["id"])
        )
        stored = (
            await db.execute(select(User.stripe_customer_id).where(User.id == user_id))
        ).scalar_one()
    return stored


async def start_checkout(user_id: int, amount_text: str) -> str:
    """Creates a Checkout Session (mode payment) for a top-up; returns Stripe's page URL."""
    if not configured():
        raise ServiceError("topup_not_configured", "Top-up is not configured.", status=503)
    cents = parse_amount(amount_text)
    settings = get_settings()
    try:
        customer = await ensure_customer(user_id)
        session = await _call(
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
    return session["url"]


async def checkout_status(user_id: int, stripe_session_id: str) -> str | None:
    """'credited', 'pending' or None (not this user's session)."""
    async with session_scope() as db:
        row = (
            await db.execute(
                select(CheckoutSession).where(
                    CheckoutSession.stripe_session_id == stripe_session_id,
                    CheckoutSession.user_id == user_id,
                )
            )
        ).scalar_one_or_none()
    if row is None:
        return None
    return "credited" if row.credited_at is not None else "pending"


# --- crediting and debiting, exactly once -------------------------------------------------


@dataclass
class Card:
    payment_method_id: str
    brand: str
    last4: str


def _card_of(payment_method: Any) -> Card | None:
    if not isinstance(payment_method, dict):
        return None
    card = payment_method.get("card") or {}
    last4 = str(card.get("last4") or "")
    if not (len(last4) == 4 and last4.isascii() and last4.isdigit()):
        return None
    return Card(str(payment_method.get("id", ""))[:64], str(card.get("brand", ""))[:16], last4)


async def _record_event(db: Any, event: dict[str, Any] | None) -> None:
    if event is not None:
        db.add(StripeEvent(event_id=event["id"], type=str(event.get("type", ""))[:64]))
        await db.flush()


async def _reference_exists(db: Any, reference: str) -> bool:
    found = await db.execute(select(LedgerEntry.id).where(LedgerEntry.reference == reference))
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
            await _record_event(db, event)
            if await _reference_exists(db, reference):
                return False  # an earlier event credited it; this one is handled as a no-op
            if card is not None:
                await db.execute(
                    update(User)
                    .where(User.id == user_id)
                    .values(
                        stripe_payment_method_id=card.payment_method_id or None,
                        card_brand=card.brand,
                        card_last4=card.last4,
                    )
                )
            user = await db.get(User, user_id)
            last4 = card.last4 if card else (user.card_last4 if user else None)
            what = "Auto top-up" if automatic else "Top-up"
            entry = await billing.book(
                db,
                user_id,
                amount_nano,
                billing.TOPUP,
                f"{what} by card •••• {last4}" if last4 else what,
                reference=reference,
            )
            if checkout_session_id is not None:
                await db.execute(
                    update(CheckoutSession)
                    .where(CheckoutSession.stripe_session_id == checkout_session_id)
                    .values(status="paid", credited_at=now)
                )
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
            await _record_event(db, event)
            if amount_nano <= 0 or await _reference_exists(db, reference):
                return False
            await billing.book(
                db, user_id, -amount_nano, billing.REFUND, description, reference=reference
            )
            if stop_auto_topup:
                await db.execute(
                    update(User).where(User.id == user_id).values(auto_topup_enabled=False)
                )
            await alerts.after_charges(db, {user_id}, auto_topup=False)
    except IntegrityError:
        return False
    return True


# --- the webhook ---------------------------------------------------------------------------


class Reject(Exception):
    """The event does not match what Stripe's API says: 400, Stripe need not retry."""


class Retry(Exception):
    """Could not decide now (Stripe's API unreachable, a failure of ours): 500, retry."""


@dataclass
class WebhookResult:
    status: int
    outcome: str


async def handle_webhook(payload: bytes, signature: str | None) -> WebhookResult:
    settings = get_settings()
    if not settings.stripe_webhook_secret or not configured():
        return WebhookResult(503, "not_configured")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.stripe_webhook_secret
        ).to_dict()
    except (ValueError, stripe.SignatureVerificationError):
        return WebhookResult(400, "bad_signature")
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(kind, str):
        return WebhookResult(400, "bad_event")
    handler = _HANDLERS.get(kind)
    if handler is None:
        return WebhookResult(200, "ignored")
    async with session_scope() as db:
        seen = await db.execute(select(StripeEvent.id).where(StripeEvent.event_id == event_id))
        if seen.first() is not None:
            return WebhookResult(200, "duplicate")
    try:
        return WebhookResult(200, await handler(event))
    except Reject as error:
        log.error("stripe event %s (%s) rejected: %s", event_id, kind, error)
        return WebhookResult(400, "rejected")
    except stripe.InvalidRequestError as error:
        # Stripe says the object does not exist (or our request is wrong): retrying won't help.
        log.error("stripe event %s (%s): %s", event_id, kind, type(error).__name__)
        return WebhookResult(400, "rejected")
    except (Retry, stripe.StripeError) as error:
        log.warning("stripe event %s (%s) not handled yet: %s", event_id, kind, error)
        return WebhookResult(500, "retry")
    except Exception:
        log.exception("stripe event %s (%s) failed", event_id, kind)
        return WebhookResult(500, "error")


def _object(event: dict[str, Any]) -> dict[str, Any]:
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise Reject("event without an object id")
    return obj


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def _user_by_customer(customer_id: str | None) -> User | None:
    if not customer_id:
        return None
    async with session_scope() as db:
        return (
            await db.execute(select(User).where(User.stripe_customer_id == customer_id))
        ).scalar_one_or_none()


async def _checkout_completed(event: dict[str, Any]) -> str:
    session_id = _object(event)["id"]
    async with session_scope() as db:
        row = (
            await db.execute(
                select(CheckoutSession).where(CheckoutSession.stripe_session_id == session_id)
            )
        ).scalar_one_or_none()
        user = await db.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        log.warning("checkout.session.completed for a session we did not create")
        return "ignored"
    if row.credited_at is not None:
        async with write_lock(), session_scope() as db:
            await _record_event(db, event)
        return "already_credited"
    live = await _call(
        client().v1.checkout.sessions.retrieve,
        session_id,
        {"expand": ["payment_intent.payment_method"]},
    )
    if live.get("payment_status") != "paid":
        # Delayed payment methods complete unpaid; `async_payment_succeeded` follows.
        return "not_paid"
    cents = row.amount_nano // NANO_PER_CENT
    if (
        live.get("id") != session_id
        or live.get("mode") != "payment"
        or _id_of(live.get("customer")) != user.stripe_customer_id
        or live.get("amount_total") != cents
        or str(live.get("currency", "")).lower() != row.currency
    ):
        raise Reject(f"checkout session {session_id} does not match what we created")
    payment_intent = live.get("payment_intent")
    card = (
        _card_of(payment_intent.get("payment_method")) if isinstance(payment_intent, dict) else None
    )
    credited = await credit_topup(
        row.user_id,
        row.amount_nano,
        f"checkout:{session_id}",
        event=event,
        card=card,
        checkout_session_id=session_id,
    )
    return "credited" if credited else "already_credited"


async def _payment_intent_succeeded(event: dict[str, Any]) -> str:
    obj = _object(event)
    if (obj.get("metadata") or {}).get("kind") != "auto_topup":
        return "ignored"  # Checkout payments are credited from their session
    live = await _call(
        client().v1.payment_intents.retrieve, obj["id"], {"expand": ["payment_method"]}
    )
    user = await _user_by_customer(_id_of(live.get("customer")))
    if user is None or (live.get("metadata") or {}).get("user_id") != str(user.id):
        raise Reject(f"payment intent {obj['id']} is not one of ours")
    if live.get("status") != "succeeded":
        return "not_paid"
    if str(live.get("currency", "")).lower() != get_settings().currency:
        raise Reject(f"payment intent {obj['id']} in another currency")
    credited = await credit_topup(
        user.id,
        int(live["amount"]) * NANO_PER_CENT,
        f"pi:{live['id']}",
        event=event,
        card=_card_of(live.get("payment_method")),
        automatic=True,
    )
    return "credited" if credited else "already_credited"


# --- refunds and disputes: the ledger follows Stripe's live state of the charge -------------

BOOKED_REFUND_STATUSES = ("succeeded", "pending")  # refunds that take the money back
RELEASED_DISPUTE_STATUSES = ("won", "warning_closed", "prevented")  # nothing withdrawn


@dataclass
class _Refund:
    id: str
    amount_nano: int
    takes_money: bool  # False: failed or canceled (what it booked, if anything, stays booked)


@dataclass
class _Dispute:
    id: str
    amount_nano: int
    released: bool  # won: what it debited goes back


@dataclass
class _Charge:
    id: str
    user_id: int
    amount_nano: int
    refunds: list[_Refund]  # oldest first
    disputes: list[_Dispute]  # oldest first


async def _list_all(method: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a Stripe list (newest first), page by page."""
    items: list[dict[str, Any]] = []
    while True:
        page = await _call(
            method,
            {**params, "limit": 100, **({"starting_after": items[-1]["id"]} if items else {})},
        )
        data = [item for item in page.get("data") or [] if isinstance(item, dict)]
        items += data
        if not page.get("has_more") or not data:
            return items


def _cents(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Reject(f"{what} without a valid amount")
    return value


def _part_of_charge(
    item: dict[str, Any], charge_id: str, currency: str, what: str
) -> tuple[str, int]:
    """(id, amount in nano-USD) of a refund or dispute, checked to belong to the charge and
    to be in our currency (a Reject otherwise)."""
    if _id_of(item.get("charge")) != charge_id or not isinstance(item.get("id"), str):
        raise Reject(f"{what} of charge {charge_id} names another charge")
    if str(item.get("currency", "")).lower() != currency:
        raise Reject(f"{what} {item['id']} in another currency")
    return item["id"], _cents(item.get("amount"), what) * NANO_PER_CENT


async def _charge_state(charge_id: str, dispute: dict[str, Any] | None = None) -> _Charge | None:
    """The charge as Stripe's API has it now, with all its refunds and disputes; None when it
    is not a charge of one of our customers. Refunds are looked up before disputes: Stripe
    refunds no charge while a dispute of it is open, so any refund made before a dispute we
    see was made before the look-up that found it (see the module docstring)."""
    live = await _call(client().v1.charges.retrieve, charge_id, {"expand": ["refunds"]})
    if live.get("id") != charge_id:
        raise Reject(f"charge {charge_id} answered as another")
    user = await _user_by_customer(_id_of(live.get("customer")))
    if user is None:
        return None
    currency = get_settings().currency
    if str(live.get("currency", "")).lower() != currency:
        raise Reject(f"charge {charge_id} in another currency")
    embedded = live.get("refunds")
    if isinstance(embedded, dict) and not embedded.get("has_more"):
        refunds = [r for r in embedded.get("data") or [] if isinstance(r, dict)]
    else:
        refunds = await _list_all(client().v1.refunds.list, {"charge": charge_id})
    disputes = await _list_all(client().v1.disputes.list, {"charge": charge_id})
    if dispute is not None and dispute["id"] not in {d.get("id") for d in disputes}:
        disputes.insert(0, dispute)  # a list may lag behind the object itself
    state = _Charge(
        charge_id, user.id, _cents(live.get("amount"), "charge") * NANO_PER_CENT, [], []
    )
    for refund in reversed(refunds):  # Stripe lists newest first
        refund_id, nano = _part_of_charge(refund, charge_id, currency, "refund")
        state.refunds.append(
            _Refund(refund_id, nano, refund.get("status") in BOOKED_REFUND_STATUSES)
        )
    for item in reversed(disputes):
        dispute_id, nano = _part_of_charge(item, charge_id, currency, "dispute")
        state.disputes.append(
            _Dispute(dispute_id, nano, item.get("status") in RELEASED_DISPUTE_STATUSES)
        )
    return state


@dataclass
class _Booking:
    reference: str
    amount_nano: int  # negative: a debit
    description: str
    opens_dispute: bool = False


WON = "Card payment dispute won: credited back"


def _plan(charge: _Charge, booked: dict[str, int], legacy_nano: int) -> list[_Booking]:
    """What the ledger lacks for `charge`. `booked`: reference → amount of the charge's
    rows; `legacy_nano`: what the old per-charge scheme debited for its refunds. Never takes
    back more than the charge's amount in all (the module docstring's rule)."""
    plan: list[_Booking] = []
    taken = legacy_nano - sum(booked.values())  # what is debited for this charge so far
    # 1. Won disputes give back exactly what they debited.
    for dispute in charge.disputes:
        debited = -booked.get(f"dispute:{dispute.id}", 0)
        reference = f"dispute_won:{dispute.id}"
        if dispute.released and debited > 0 and reference not in booked:
            plan.append(_Booking(reference, debited, WON))
            taken -= debited
    # 2. Refunds, oldest first (the old scheme's rows stand for the oldest ones).
    legacy_left = legacy_nano
    for refund in charge.refunds:
        own = f"refund:{refund.id}"
        rows = [ref for ref in booked if ref == own or ref.startswith(own + ":")]
        missing = refund.amount_nano + sum(booked[ref] for ref in rows)
        covered = min(max(missing, 0), legacy_left)
        legacy_left -= covered
        amount = min(missing - covered, charge.amount_nano - taken)
        if refund.takes_money and amount > 0:
            # A second row for one refund is a remainder (see the module docstring).
            reference = f"{own}:{len(rows) + 1}" if rows else own
            plan.append(
                _Booking(reference, -amount, f"Card payment refunded ({format_usd(amount)})")
            )
            taken += amount
    # 3. Disputes not booked yet. One already won is debited and credited back at once, so
    #    that a late event whose look-up still showed it open finds it booked.
    for dispute in charge.disputes:
        reference = f"dispute:{dispute.id}"
        amount = min(dispute.amount_nano, charge.amount_nano - taken)
        if reference in booked or amount <= 0:
            continue
        plan.append(
            _Booking(
                reference, -amount, "Card payment disputed", opens_dispute=not dispute.released
            )
        )
        if dispute.released:
            plan.append(_Booking(f"dispute_won:{dispute.id}", amount, WON))
        else:
            taken += amount
    return plan


async def _settle_charge(charge: _Charge, event: dict[str, Any], *, dispute_opened: bool) -> str:
    """Books what the ledger lacks for `charge` in one transaction with the event's row;
    returns "debited", "credited", "settled" (booked, net zero), "unchanged" or "duplicate".
    A dispute opened (by this event, or found unbooked) stops auto top-up."""
    legacy_prefix = f"charge_refund:{charge.id}:"
    exact = [f"refund:{r.id}" for r in charge.refunds]
    exact += [f"{kind}:{d.id}" for d in charge.disputes for kind in ("dispute", "dispute_won")]
    prefixes = [legacy_prefix] + [f"refund:{r.id}:" for r in charge.refunds]
    for _attempt in range(3):
        try:
            async with write_lock(), session_scope() as db:
                await _record_event(db, event)
                # The account's row, locked until commit (PostgreSQL; on SQLite the write
                # lock and the single writer do it): bookings for one account take turns,
                # so what is read below stays true until it is written.
                await db.execute(select(User.id).where(User.id == charge.user_id).with_for_update())
                rows = await db.execute(
                    select(LedgerEntry.reference, LedgerEntry.amount_nano).where(
                        LedgerEntry.user_id == charge.user_id,
                        or_(
                            LedgerEntry.reference.in_(exact),
                            *(
                                LedgerEntry.reference.startswith(p, autoescape=True)
                                for p in prefixes
                            ),
                        ),
                    )
                )
                booked: dict[str, int] = {}
                legacy = 0
                for reference, amount in rows:
                    if reference.startswith(legacy_prefix):
                        legacy -= amount
                    else:
                        booked[reference] = amount
                plan = _plan(charge, booked, legacy)
                for item in plan:
                    await billing.book(
                        db,
                        charge.user_id,
                        item.amount_nano,
                        billing.REFUND,
                        item.description,
                        reference=item.reference,
                    )
                if dispute_opened or any(item.opens_dispute for item in plan):
                    await db.execute(
                        update(User)
                        .where(User.id == charge.user_id)
                        .values(auto_topup_enabled=False)
                    )
                net = sum(item.amount_nano for item in plan)
                if any(item.amount_nano < 0 for item in plan):
                    await alerts.after_charges(db, {charge.user_id}, auto_topup=False)
                if net > 0:
                    user = await db.get(User, charge.user_id)
                    if user is not None:
                        await db.refresh(user)
                        await alerts.rearm_if_clear(db, user)
        except IntegrityError:
            async with session_scope() as db:
                seen = await db.execute(
                    select(StripeEvent.id).where(StripeEvent.event_id == event["id"])
                )
                if seen.first() is not None:
                    return "duplicate"  # a concurrent delivery of this very event
            continue  # another event booked part of it meanwhile: plan again
        if not plan:
            return "unchanged"
        return "debited" if net < 0 else "credited" if net > 0 else "settled"
    raise Retry(f"charge {charge.id}: the ledger kept changing")


async def _charge_refunded(event: dict[str, Any]) -> str:
    charge = await _charge_state(_object(event)["id"])
    if charge is None:
        return "ignored"  # not a charge of one of our customers
    outcome = await _settle_charge(charge, event, dispute_opened=False)
    return "already_debited" if outcome == "unchanged" else outcome


async def _dispute_event(event: dict[str, Any]) -> str:
    """`charge.dispute.created` and `.closed`: the dispute as Stripe has it decides."""
    dispute_id = _object(event)["id"]
    live = await _call(client().v1.disputes.retrieve, dispute_id)
    charge_id = _id_of(live.get("charge"))
    if live.get("id") != dispute_id or charge_id is None:
        raise Reject(f"dispute {dispute_id} without its charge")
    charge = await _charge_state(charge_id, live)
    if charge is None:
        return "ignored"
    released = any(d.released for d in charge.disputes if d.id == dispute_id)
    opened = event.get("type") == "charge.dispute.created" and not released
    outcome = await _settle_charge(charge, event, dispute_opened=opened)
    if outcome != "unchanged":
        return outcome
    return "already_credited" if released else "already_debited"


_HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "payment_intent.succeeded": _payment_intent_succeeded,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_event,
    "charge.dispute.closed": _dispute_event,
}


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
                    User.id == user_id,
                    User.closed_at.is_(None),
                    User.auto_topup_enabled.is_(True),
                    User.stripe_customer_id.is_not(None),
                    User.stripe_payment_method_id.is_not(None),
                    User.auto_topup_amount_nano.is_not(None),
                    User.balance_nano < User.auto_topup_below_nano,
                    or_(User.auto_topup_last_at.is_(None), User.auto_topup_last_at <= cutoff),
                )
                .values(auto_topup_last_at=now)
                .returning(
                    User.stripe_customer_id,
                    User.stripe_payment_method_id,
                    User.auto_topup_amount_nano,
                )
            )
        ).one_or_none()
    if claimed is None:
        return "skipped"
    customer, payment_method, amount_nano = claimed
    cents = amount_nano // NANO_PER_CENT
    try:
        intent = await _call(
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
    credited = await credit_topup(
        user_id, cents * NANO_PER_CENT, f"pi:{intent['id']}", automatic=True
    )
    return "credited" if credited else "already_credited"


async def _auto_topup_failed(user_id: int, reason: str) -> None:
    async with write_lock(), session_scope() as db:
        await db.execute(update(User).where(User.id == user_id).values(auto_topup_enabled=False))
        user = await db.get(User, user_id)
        if user is not None:
            await alerts.auto_topup_declined(db, user, reason)


# --- the history the billing page shows ----------------------------------------------------


@dataclass
class HistoryRow:
    at: Any  # datetime (UTC) of the change, or of the day's last usage charge
    kind: str
    amount_nano: int
    balance_after_nano: int
    description: str
    requests: int = 0  # usage rows: charges rolled into this day


async def history(db: Any, user_id: int, limit: int = 100) -> list[HistoryRow]:
    """Every top-up, refund, adjustment and grant, and usage charges rolled up per (UTC) day,
    newest first. A day's balance-after is the balance after its last usage charge."""
    others = (
        await db.execute(
            select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.kind != billing.USAGE)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
    ).scalars()
    rows = [
        HistoryRow(e.created_at, e.kind, e.amount_nano, e.balance_after_nano, e.description)
        for e in others
    ]
    day = func.date(LedgerEntry.created_at)
    days = (
        await db.execute(
            select(func.sum(LedgerEntry.amount_nano), func.max(LedgerEntry.id), func.count())
            .where(LedgerEntry.user_id == user_id, LedgerEntry.kind == billing.USAGE)
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
                    select(LedgerEntry).where(LedgerEntry.id.in_([d[1] for d in days]))
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
