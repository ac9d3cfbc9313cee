"""The Stripe webhook: paid top-ups credited (exactly once), refunds and disputes debited.

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

import logging
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.models import CheckoutSession, LedgerEntry, StripeEvent, User
from aiusage.models.base import id_of
from aiusage.money import format_usd
from aiusage.services import alerts, billing
from aiusage.services.billing import card_of, credit_topup
from aiusage.services.stripe_client import NANO_PER_CENT, call, client, configured

log = logging.getLogger("aiusage.payments")

MAX_WEBHOOK_BYTES = 512 * 1024


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
        seen = await db.execute(
            select(col(StripeEvent.id)).where(col(StripeEvent.event_id) == event_id)
        )
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
            await db.execute(select(User).where(col(User.stripe_customer_id) == customer_id))
        ).scalar_one_or_none()


async def _checkout_completed(event: dict[str, Any]) -> str:
    session_id = _object(event)["id"]
    async with session_scope() as db:
        row = (
            await db.execute(
                select(CheckoutSession).where(col(CheckoutSession.stripe_session_id) == session_id)
            )
        ).scalar_one_or_none()
        user = await db.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        log.warning("checkout.session.completed for a session we did not create")
        return "ignored"
    if row.credited_at is not None:
        async with write_lock(), session_scope() as db:
            await billing.record_event(db, event)
        return "already_credited"
    live = await call(
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
        card_of(payment_intent.get("payment_method")) if isinstance(payment_intent, dict) else None
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
    live = await call(
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
        id_of(user),
        int(live["amount"]) * NANO_PER_CENT,
        f"pi:{live['id']}",
        event=event,
        card=card_of(live.get("payment_method")),
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
        page = await call(
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
    live = await call(client().v1.charges.retrieve, charge_id, {"expand": ["refunds"]})
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
        charge_id, id_of(user), _cents(live.get("amount"), "charge") * NANO_PER_CENT, [], []
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
                await billing.record_event(db, event)
                # The account's row, locked until commit (PostgreSQL; on SQLite the write
                # lock and the single writer do it): bookings for one account take turns,
                # so what is read below stays true until it is written.
                await db.execute(
                    select(col(User.id)).where(col(User.id) == charge.user_id).with_for_update()
                )
                rows = await db.execute(
                    select(col(LedgerEntry.reference), col(LedgerEntry.amount_nano)).where(
                        col(LedgerEntry.user_id) == charge.user_id,
                        or_(
                            col(LedgerEntry.reference).in_(exact),
                            *(
                                col(LedgerEntry.reference).startswith(p, autoescape=True)
                                for p in prefixes
                            ),
                        ),
                    )
                )
                booked: dict[str, int] = {}
                legacy = 0
                for reference, amount in rows:
                    assert reference is not None  # matched by its prefix above
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
                        .where(col(User.id) == charge.user_id)
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
                    select(col(StripeEvent.id)).where(col(StripeEvent.event_id) == event["id"])
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
    live = await call(client().v1.disputes.retrieve, dispute_id)
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
