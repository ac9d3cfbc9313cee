"""Top-up with Stripe Checkout against a local fake of Stripe's API, and the webhook: signed
as Stripe signs, confirmed with Stripe's API, credited exactly once; refunds and disputes."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import stripe

from tests.conftest import APP_URL, STRIPE_WEBHOOK_SECRET
from tests.helpers.billing_support import (
    apost_event,
    charge_of,
    event,
    ledger,
    post_event,
    sign,
    signed_in,
    start_checkout,
    topup,
    user_row,
)
from tests.helpers.support import settled_money

NANO = 1_000_000_000


def refund_ids(stripe_api, charge_id: str) -> list[str]:
    """The charge's refunds at Stripe, oldest first."""
    return [r["id"] for r in stripe_api.refunds.values() if r["charge"] == charge_id]


async def refund_rows(user_id: int) -> list[tuple[str, int]]:
    """(reference, amount) of the account's refund and dispute lines, in booking order."""
    return [(r.reference, r.amount_nano) for r in await ledger(user_id) if r.kind == "refund"]


async def until_held(stripe_api, count: int) -> None:
    deadline = time.monotonic() + 30
    while stripe_api.held() < count:
        assert time.monotonic() < deadline, f"{stripe_api.held()} of {count} calls arrived"
        await asyncio.sleep(0.01)


@pytest.fixture
def stripe_fake(stripe_api, app_server):
    stripe_api.reset()
    yield stripe_api
    stripe_api.reset()


def test_signature_is_stripes_own_scheme():
    payload = json.dumps(event("checkout.session.completed", {"id": "cs_x"}))
    header = sign(payload, timestamp=1_700_000_000)
    ts, v1 = header.split(",")
    assert ts == "t=1700000000" and v1.startswith("v1=") and len(v1) == 3 + 64
    # The library's own verification accepts it (with the time it was signed at).
    assert stripe.WebhookSignature.verify_header(
        payload, sign(payload), STRIPE_WEBHOOK_SECRET, tolerance=300
    )


async def test_checkout_session_is_created_with_amount_currency_customer_and_urls(
    stripe_fake, make_account
):
    account = await make_account(usd="0")
    with signed_in(account) as client:
        first = start_checkout(client, "25")
        second = client.post(
            "/api/billing/checkout", data={"amount": "10", "custom_amount": "12.50"}
        )
        assert second.status_code == 303
        # Out of range, or not a number: back to the billing page with the reason.
        for bad, code in (
            ("2", "topup_amount_range"),
            ("5000", "topup_amount_range"),
            ("ten", "topup_amount_invalid"),
            ("10.005", "topup_amount_invalid"),
        ):
            refused = client.post("/api/billing/checkout", data={"custom_amount": bad})
            assert refused.status_code == 303
            assert refused.headers["location"] == f"/dashboard/billing?error={code}"
        # A form from another site is refused (CSRF).
        forged = client.post(
            "/api/billing/checkout", data={"amount": "25"}, headers={"Origin": "https://evil.test"}
        )
        assert forged.status_code in (303, 403) and "/pay/" not in forged.headers.get(
            "location", ""
        )
    # Signed out: no session.
    anonymous = httpx.post(
        f"{APP_URL}/api/billing/checkout", data={"amount": "25"}, headers={"Origin": APP_URL}
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    user = await user_row(account.id)
    customers = stripe_fake.calls("POST", "/v1/customers")
    assert len(customers) == 1  # created on first use, then reused
    assert customers[0].params["email"] == account.email
    assert user.stripe_customer_id in stripe_fake.customers
    created = stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert len(created) == 2
    amounts = []
    for call in created:
        params = call.params
        assert params["mode"] == "payment"
        assert params["customer"] == user.stripe_customer_id
        (item,) = params["line_items"]
        assert item["price_data"]["currency"] == "usd"
        assert item["quantity"] == "1"
        amounts.append(item["price_data"]["unit_amount"])
        assert params["success_url"] == (
            f"{APP_URL}/dashboard/billing/success?session_id={{CHECKOUT_SESSION_ID}}"
        )
        assert params["cancel_url"] == f"{APP_URL}/dashboard/billing/cancel"
        assert call.headers["authorization"].startswith("Bearer sk_test_")
    assert amounts == ["2500", "1250"]
    assert first in stripe_fake.sessions
    balance, ledger_sum = await settled_money(account.id)
    assert balance == ledger_sum == 0  # nothing credited before Stripe says it was paid


async def test_paid_checkout_credits_once_with_card_and_receipt(stripe_fake, make_account, mailbox):
    account = await make_account(usd="1")
    with signed_in(account) as client:
        session_id = start_checkout(client, "25")
    session = stripe_fake.pay(session_id, last4="1881", brand="mastercard")
    first = event("checkout.session.completed", session)
    response = post_event(first)
    assert response.status_code == 200 and response.json()["outcome"] == "credited"
    assert await settled_money(account.id) == (26 * NANO, 26 * NANO)

    # The same event again, a second event for the same session, the async-payment event.
    assert post_event(first).json()["outcome"] == "duplicate"
    assert post_event(event("checkout.session.completed", session)).status_code == 200
    assert post_event(event("checkout.session.async_payment_succeeded", session)).status_code == 200
    assert await settled_money(account.id) == (26 * NANO, 26 * NANO)

    user = await user_row(account.id)
    assert (user.card_brand, user.card_last4) == ("mastercard", "1881")
    assert user.stripe_payment_method_id.startswith("pm_")
    rows = [r for r in await ledger(account.id) if r.kind == "topup"]
    assert len(rows) == 1 and rows[0].amount_nano == 25 * NANO
    assert rows[0].reference == f"checkout:{session_id}"
    # The session was confirmed with Stripe's API before crediting.
    assert stripe_fake.calls("GET", f"/v1/checkout/sessions/{session_id}")

    receipt = mailbox.wait_for(account.email, "receipt")
    body = receipt.get_payload(decode=True).decode()
    assert "$25.00" in receipt["Subject"] and "$26.00" in body and "1881" in body
    time.sleep(0.5)
    assert len([m for m in mailbox.to(account.email) if "Receipt" in m["Subject"]]) == 1


async def test_twenty_concurrent_duplicates_credit_once(stripe_fake, make_account):
    account = await make_account(usd="0")
    with signed_in(account) as client:
        session_id = start_checkout(client, "50")
    session = stripe_fake.pay(session_id)
    same = event("checkout.session.completed", session)
    deliveries = [same] * 14 + [event("checkout.session.completed", session) for _ in range(6)]
    async with httpx.AsyncClient(timeout=60) as client:

        async def deliver(evt):
            payload = json.dumps(evt)
            return await client.post(
                f"{APP_URL}/api/stripe/webhook",
                content=payload,
                headers={"stripe-signature": sign(payload)},
            )

        responses = await asyncio.gather(*[deliver(e) for e in deliveries])
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.json()["outcome"] for r in responses].count("credited") == 1
    assert await settled_money(account.id) == (50 * NANO, 50 * NANO)
    assert len(await ledger(account.id)) == 1


async def test_bad_or_stale_signature_is_refused_and_changes_nothing(stripe_fake, make_account):
    account = await make_account(usd="0")
    with signed_in(account) as client:
        session_id = start_checkout(client, "25")
    evt = event("checkout.session.completed", stripe_fake.pay(session_id))
    payload = json.dumps(evt)
    headers = [
        sign(payload, secret="whsec_wrong"),
        sign(payload, timestamp=int(time.time()) - 3600),  # replayed an hour later
        sign(payload + " "),  # signed another body
        "t=1,v1=" + "0" * 64,
        "",
    ]
    for header in headers:
        response = httpx.post(
            f"{APP_URL}/api/stripe/webhook", content=payload, headers={"stripe-signature": header}
        )
        assert response.status_code == 400, header
    assert not stripe_fake.calls("GET", "/v1/checkout/sessions/")
    assert await settled_money(account.id) == (0, 0)
    # The genuine delivery still works afterwards (nothing was recorded as handled).
    assert post_event(evt).json()["outcome"] == "credited"


async def test_confirmation_with_stripe_must_succeed(stripe_fake, make_account):
    account = await make_account(usd="0")
    with signed_in(account) as client:
        unpaid_id = start_checkout(client, "25")
        other_id = start_checkout(client, "25")
        amount_id = start_checkout(client, "25")
        retry_id = start_checkout(client, "25")

    # A "completed" event for a session Stripe says is unpaid: acknowledged, nothing credited.
    unpaid = stripe_fake.sessions[unpaid_id] | {"payment_status": "paid", "status": "complete"}
    response = post_event(event("checkout.session.completed", unpaid))
    assert response.status_code == 200 and response.json()["outcome"] == "not_paid"

    # Stripe's API shows another customer, or another amount: refused (400), nothing credited.
    stripe_fake.pay(other_id)
    stripe_fake.sessions[other_id]["customer"] = "cus_test_someone_else"
    response = post_event(event("checkout.session.completed", stripe_fake.sessions[other_id]))
    assert response.status_code == 400
    paid = stripe_fake.pay(amount_id)
    stripe_fake.sessions[amount_id]["amount_total"] = 250_000
    assert post_event(event("checkout.session.completed", paid)).status_code == 400

    # A session we never created (forged with a leaked secret): acknowledged and ignored.
    forged = dict(paid, id="cs_test_not_ours", amount_total=100_000)
    assert post_event(event("checkout.session.completed", forged)).json()["outcome"] == "ignored"

    # Stripe's API failing: 500 so Stripe retries; the retry credits once.
    session = stripe_fake.pay(retry_id)
    evt = event("checkout.session.completed", session)
    stripe_fake.fail_status = 500
    assert post_event(evt).status_code == 500
    assert await settled_money(account.id) == (0, 0)
    stripe_fake.fail_status = None
    assert post_event(evt).json()["outcome"] == "credited"
    assert await settled_money(account.id) == (25 * NANO, 25 * NANO)


async def test_unknown_events_are_acknowledged(stripe_fake):
    response = post_event(event("customer.created", {"id": "cus_test_x", "object": "customer"}))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"


async def test_refund_debits_once_even_out_of_order_and_proxy_then_answers_402(
    stripe_fake, make_account, fake
):
    from tests.helpers.support import wait_usage

    account = await make_account(usd="0")
    session = topup(stripe_fake, account, "10")
    charge_id = stripe_fake.payment_intents[session["payment_intent"]]["latest_charge"]

    # Some usage through the proxy (platform key serves gpt-4o).
    body = {"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {account.proxy_key}"}
    for _ in range(2):
        ok = httpx.post(f"{APP_URL}/api/v1/chat/completions", json=body, headers=headers)
        assert ok.status_code == 200
    rows = await wait_usage(account.id, 2)
    used = sum(r.charged_nano for r in rows)

    # Two partial refunds; their events arrive in reverse order, one of them twice.
    first = event("charge.refunded", stripe_fake.refund(charge_id, 400))
    second = event("charge.refunded", stripe_fake.refund(charge_id, 600))
    assert post_event(second).json()["outcome"] == "debited"
    assert post_event(first).json()["outcome"] == "already_debited"
    assert post_event(second).json()["outcome"] == "duplicate"
    balance, ledger_sum = await settled_money(account.id)
    assert balance == ledger_sum == 10 * NANO - used - 10 * NANO < 0  # negative is allowed
    four, six = refund_ids(stripe_fake, charge_id)
    # One line per refund: the first event handled books both (Stripe's API lists both).
    assert await refund_rows(account.id) == [
        (f"refund:{four}", -4 * NANO),
        (f"refund:{six}", -6 * NANO),
    ]

    # No credit: the proxy refuses before forwarding.
    sent = len(fake.requests)
    refused = httpx.post(f"{APP_URL}/api/v1/chat/completions", json=body, headers=headers)
    assert refused.status_code == 402
    assert len(fake.requests) == sent


async def test_dispute_debits_once_and_stops_auto_topup(stripe_fake, make_account):
    from sqlalchemy import update

    from aiusage.db import session_scope
    from aiusage.models import User

    account = await make_account(usd="0")
    session = topup(stripe_fake, account, "20")
    async with session_scope() as db:
        await db.execute(
            update(User)
            .where(User.id == account.id)
            .values(
                auto_topup_enabled=True,
                auto_topup_below_nano=NANO,
                auto_topup_amount_nano=10 * NANO,
            )
        )
    charge_id = stripe_fake.payment_intents[session["payment_intent"]]["latest_charge"]
    dispute = event("charge.dispute.created", stripe_fake.dispute(charge_id))
    assert post_event(dispute).json()["outcome"] == "debited"
    assert post_event(dispute).json()["outcome"] == "duplicate"
    assert post_event(event("charge.dispute.created", dispute["data"]["object"])).status_code == 200
    assert await settled_money(account.id) == (0, 0)
    assert not (await user_row(account.id)).auto_topup_enabled
    # A dispute Stripe does not know: refused, nothing debited.
    fake_dispute = dict(dispute["data"]["object"], id="dp_test_unknown")
    assert post_event(event("charge.dispute.created", fake_dispute)).status_code == 400
    assert await settled_money(account.id) == (0, 0)


async def test_concurrent_partial_refunds_each_delivered_twice_debit_each_refund_once(
    stripe_fake, make_account
):
    account = await make_account(usd="0")
    charge_id = charge_of(stripe_fake, topup(stripe_fake, account, "10"))
    # Stripe's API is slow: each look-up of the charge answers as the charge stood when it
    # arrived, but only once all four deliveries are waiting. The first refund's deliveries
    # see $4 refunded, the second's $10, and the server handles all four at the same time.
    stripe_fake.hold("GET", f"/v1/charges/{charge_id}")
    async with httpx.AsyncClient() as client:
        first = event("charge.refunded", stripe_fake.refund(charge_id, 400))
        deliveries = [asyncio.create_task(apost_event(client, first)) for _ in range(2)]
        await until_held(stripe_fake, 2)
        second = event("charge.refunded", stripe_fake.refund(charge_id, 600))
        deliveries += [asyncio.create_task(apost_event(client, second)) for _ in range(2)]
        await until_held(stripe_fake, 4)
        stripe_fake.release()
        responses = await asyncio.gather(*deliveries)
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    outcomes = [r.json()["outcome"] for r in responses]
    assert 1 <= outcomes.count("debited") <= 2, outcomes
    assert await settled_money(account.id) == (0, 0)  # $10 paid, exactly $10 taken back
    four, six = refund_ids(stripe_fake, charge_id)
    assert sorted(await refund_rows(account.id)) == sorted(
        [(f"refund:{four}", -4 * NANO), (f"refund:{six}", -6 * NANO)]
    )

    # Redelivered later, or a new event for the same charge: nothing more.
    assert post_event(first).json()["outcome"] == "duplicate"
    assert post_event(second).json()["outcome"] == "duplicate"
    again = event("charge.refunded", stripe_fake.charges[charge_id])
    assert post_event(again).json()["outcome"] == "already_debited"
    assert await settled_money(account.id) == (0, 0)
    assert len(await refund_rows(account.id)) == 2


async def test_dispute_won_gives_back_what_it_took_exactly_once(stripe_fake, make_account):
    account = await make_account(usd="0")
    charge_id = charge_of(stripe_fake, topup(stripe_fake, account, "20"))
    dispute = stripe_fake.dispute(charge_id)
    created = event("charge.dispute.created", dispute)
    assert post_event(created).json()["outcome"] == "debited"
    assert await settled_money(account.id) == (0, 0)

    # The bank decides for us. The closing event arrives three times (twice the same
    # delivery), the creation once more, late: all at once.
    won = stripe_fake.close_dispute(dispute["id"], "won")
    closed = event("charge.dispute.closed", won)
    late = event("charge.dispute.created", dispute)
    async with httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(
                apost_event(client, e)
                for e in (closed, closed, event("charge.dispute.closed", won), late)
            )
        )
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert [r.json()["outcome"] for r in responses].count("credited") == 1
    assert post_event(closed).json()["outcome"] == "duplicate"
    assert await settled_money(account.id) == (20 * NANO, 20 * NANO)  # net zero
    dp = dispute["id"]
    assert await refund_rows(account.id) == [
        (f"dispute:{dp}", -20 * NANO),
        (f"dispute_won:{dp}", 20 * NANO),
    ]

    # Lost: nothing further (it was debited when it was opened).
    lost_charge = charge_of(stripe_fake, topup(stripe_fake, account, "10"))
    lost = stripe_fake.dispute(lost_charge)
    assert post_event(event("charge.dispute.created", lost)).json()["outcome"] == "debited"
    closed_lost = event("charge.dispute.closed", stripe_fake.close_dispute(lost["id"], "lost"))
    assert post_event(closed_lost).json()["outcome"] == "already_debited"
    assert await settled_money(account.id) == (20 * NANO, 20 * NANO)

    # Won before its creation was ever handled: debited and given back at once; the creation
    # arriving afterwards (its look-up may still show it open) finds it booked.
    late_charge = charge_of(stripe_fake, topup(stripe_fake, account, "10"))
    late_dispute = stripe_fake.dispute(late_charge)
    late_won = stripe_fake.close_dispute(late_dispute["id"], "won")
    assert post_event(event("charge.dispute.closed", late_won)).json()["outcome"] == "settled"
    late_created = event("charge.dispute.created", late_dispute)
    assert post_event(late_created).json()["outcome"] == "already_credited"
    assert await settled_money(account.id) == (30 * NANO, 30 * NANO)


async def test_charge_refunded_and_disputed_is_never_debited_twice(stripe_fake, make_account):
    account = await make_account(usd="0")
    charge_id = charge_of(stripe_fake, topup(stripe_fake, account, "10"))
    refunded = event("charge.refunded", stripe_fake.refund(charge_id))
    assert post_event(refunded).json()["outcome"] == "debited"
    assert await settled_money(account.id) == (0, 0)
    # The card holder disputes it anyway: the refund already took it all back.
    dispute = stripe_fake.dispute(charge_id)
    assert post_event(event("charge.dispute.created", dispute)).json()["outcome"] == (
        "already_debited"
    )
    closed = event("charge.dispute.closed", stripe_fake.close_dispute(dispute["id"], "lost"))
    assert post_event(closed).json()["outcome"] == "already_debited"
    assert await settled_money(account.id) == (0, 0)
    (refund,) = refund_ids(stripe_fake, charge_id)
    assert await refund_rows(account.id) == [(f"refund:{refund}", -10 * NANO)]

    # $4 refunded, then the whole $10 disputed, the dispute's event handled first: the
    # refund is booked, the dispute takes only the $6 left; won, it gives back those $6.
    other = charge_of(stripe_fake, topup(stripe_fake, account, "10"))
    partial = event("charge.refunded", stripe_fake.refund(other, 400))
    disputed = stripe_fake.dispute(other)
    assert post_event(event("charge.dispute.created", disputed)).json()["outcome"] == "debited"
    assert post_event(partial).json()["outcome"] == "already_debited"
    assert await settled_money(account.id) == (0, 0)
    won = event("charge.dispute.closed", stripe_fake.close_dispute(disputed["id"], "won"))
    assert post_event(won).json()["outcome"] == "credited"
    assert await settled_money(account.id) == (6 * NANO, 6 * NANO)
    (four,) = refund_ids(stripe_fake, other)
    dp = disputed["id"]
    assert (await refund_rows(account.id))[1:] == [
        (f"refund:{four}", -4 * NANO),
        (f"dispute:{dp}", -6 * NANO),
        (f"dispute_won:{dp}", 6 * NANO),
    ]


async def test_without_a_secret_key_top_up_says_not_configured(monkeypatch):
    from aiusage.config import get_settings
    from aiusage.services import stripe_client, stripe_webhooks, topups
    from aiusage.services.errors import ServiceError

    unconfigured = get_settings().model_copy(update={"stripe_secret_key": ""})
    monkeypatch.setattr(stripe_client, "get_settings", lambda: unconfigured)
    assert not stripe_client.configured()
    with pytest.raises(ServiceError) as refused:
        await topups.start_checkout(1, "25")
    assert refused.value.code == "topup_not_configured"
    assert (await stripe_webhooks.handle_webhook(b"{}", "t=1,v1=00")).status == 503
