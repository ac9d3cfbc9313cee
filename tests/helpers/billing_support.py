"""Helpers for the billing tests: sign in, start a Checkout through the app, and post webhook
events signed exactly as Stripe signs them (the library's own scheme)."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import stripe

from tests.conftest import APP_URL, STRIPE_WEBHOOK_SECRET


def sign(payload: str, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or "evt_test_" + secrets.token_hex(10),
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "type": kind,
        "livemode": False,
        "data": {"object": obj},
    }


def post_event(evt: dict[str, Any], **sign_args: Any) -> httpx.Response:
    payload = json.dumps(evt)
    return httpx.post(
        f"{APP_URL}/api/stripe/webhook",
        content=payload,
        headers={
            "stripe-signature": sign(payload, **sign_args),
            "content-type": "application/json",
        },
        timeout=30,
    )


async def apost_event(client: httpx.AsyncClient, evt: dict[str, Any]) -> httpx.Response:
    """`post_event` for concurrent deliveries (each signed when it is sent, as Stripe does)."""
    payload = json.dumps(evt)
    return await client.post(
        f"{APP_URL}/api/stripe/webhook",
        content=payload,
        headers={"stripe-signature": sign(payload), "content-type": "application/json"},
        timeout=60,
    )


@contextlib.contextmanager
def signed_in(account) -> Iterator[httpx.Client]:
    """A browser-like client with the account's session cookie."""
    with httpx.Client(base_url=APP_URL, headers={"Origin": APP_URL}, timeout=30) as client:
        response = client.post(
            "/api/auth/login",
            json={"email": account.email, "password": account.password},
            headers={"accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        yield client


def start_checkout(client: httpx.Client, amount: str) -> str:
    """Submits the billing page's top-up form; returns the Checkout Session id."""
    response = client.post("/api/billing/checkout", data={"amount": amount})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert "/pay/cs_test_" in location, location
    return urlsplit(location).path.rsplit("/", 1)[-1]


def topup(stripe_api, account, amount: str = "25", *, last4: str = "4242") -> dict[str, Any]:
    """A whole top-up: checkout from the app, the customer pays, Stripe sends the event."""
    with signed_in(account) as client:
        session_id = start_checkout(client, amount)
    session = stripe_api.pay(session_id, last4=last4)
    response = post_event(event("checkout.session.completed", session))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "credited"
    return session


def charge_of(stripe_api, session: dict[str, Any]) -> str:
    """The charge id of a paid Checkout Session."""
    return stripe_api.payment_intents[session["payment_intent"]]["latest_charge"]


async def user_row(user_id: int):
    from aiusage.db import session_scope
    from aiusage.models import User

    async with session_scope() as db:
        return await db.get(User, user_id)


async def ledger(user_id: int) -> list:
    from sqlalchemy import select

    from aiusage.db import session_scope
    from aiusage.models import LedgerEntry

    async with session_scope() as db:
        rows = await db.execute(
            select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
        )
        return list(rows.scalars())
