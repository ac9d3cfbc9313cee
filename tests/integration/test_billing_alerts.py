"""Low-balance alerts and auto top-up driven by real usage through the proxy, receipts in a
real SMTP server, operator adjustments, and the ledger explaining every balance."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import APP_URL, TEST_ENV
from tests.helpers.billing_support import event, ledger, post_event, topup, user_row
from tests.helpers.support import ROOT, settled_money, wait_usage

NANO = 1_000_000_000
BODY = {"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def stripe_fake(stripe_api, app_server):
    stripe_api.reset()
    yield stripe_api
    stripe_api.reset()


def proxy_calls(account, count: int) -> None:
    headers = {"Authorization": f"Bearer {account.proxy_key}"}
    for _ in range(count):
        response = httpx.post(
            f"{APP_URL}/api/v1/chat/completions", json=BODY, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text


def alerts_to(mailbox, address: str) -> list:
    return [m for m in mailbox.to(address) if "balance is low" in m["Subject"]]


async def set_user(user_id: int, **values) -> None:
    from aiusage.db import session_scope
    from aiusage.models import User

    async with session_scope() as db:
        await db.execute(update(User).where(User.id == user_id).values(**values))


async def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_one_alert_per_fall_below_threshold(stripe_fake, fake, make_account, mailbox):
    # Default threshold $5 (AIUSAGE_LOW_BALANCE_DEFAULT_USD); each request costs ~$0.0002.
    account = await make_account(usd="5.0005")
    proxy_calls(account, 8)
    await wait_usage(account.id, 8)
    balance, _ = await settled_money(account.id)
    assert balance < 5 * NANO
    alert = mailbox.wait_for(account.email, "balance is low")
    assert "$5.00" in alert.get_payload(decode=True).decode()
    time.sleep(1.0)  # the outbox sends every 0.1 s: a second alert would be here by now
    assert len(alerts_to(mailbox, account.email)) == 1

    # A top-up clearly above the threshold re-arms the alert and sends a receipt.
    topup(stripe_fake, account, "5")
    receipt = mailbox.wait_for(account.email, "receipt")
    assert "$5.00" in receipt["Subject"]
    user = await user_row(account.id)
    assert user.low_balance_alerted_at is None
    from aiusage.money import format_usd

    assert (
        f"New balance: {format_usd(user.balance_nano)}" in receipt.get_payload(decode=True).decode()
    )

    # The user moves the threshold just under the balance; the next fall alerts once more.
    await set_user(
        account.id,
        low_balance_threshold_nano=user.balance_nano - 300_000,
        low_balance_alerted_at=None,
    )
    proxy_calls(account, 6)
    await wait_usage(account.id, 14)
    await settled_money(account.id)
    deadline = time.monotonic() + 15
    while len(alerts_to(mailbox, account.email)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    time.sleep(1.0)
    assert len(alerts_to(mailbox, account.email)) == 2


async def test_topup_not_clearly_above_does_not_rearm(stripe_fake, make_account):
    account = await make_account(usd="0")
    alerted = (await user_row(account.id)).created_at
    # Threshold $5, already alerted: "clearly above" means at least $6 (20 %, at least $1).
    await set_user(account.id, low_balance_threshold_nano=5 * NANO, low_balance_alerted_at=alerted)
    topup(stripe_fake, account, "5")  # $5: not clearly above
    assert (await user_row(account.id)).low_balance_alerted_at == alerted
    topup(stripe_fake, account, "5")  # $10: clearly above → the next fall alerts again
    assert (await user_row(account.id)).low_balance_alerted_at is None
    await set_user(account.id, low_balance_threshold_nano=9 * NANO, low_balance_alerted_at=alerted)
    topup(stripe_fake, account, "5")  # $15 ≥ $9 + $1.80
    assert (await user_row(account.id)).low_balance_alerted_at is None
    await set_user(account.id, low_balance_threshold_nano=19 * NANO, low_balance_alerted_at=alerted)
    topup(stripe_fake, account, "5")  # $20 < $19 + $3.80: still counts as alerted
    assert (await user_row(account.id)).low_balance_alerted_at == alerted
    balance, ledger_sum = await settled_money(account.id)
    assert balance == ledger_sum == 20 * NANO


async def test_auto_topup_charges_the_saved_card_once_per_interval(
    stripe_fake, fake, make_account, mailbox
):
    account = await make_account(usd="0")
    topup(stripe_fake, account, "5", last4="4444")  # saves the card
    user = await user_row(account.id)
    await set_user(
        account.id,
        auto_topup_enabled=True,
        auto_topup_below_nano=5 * NANO + 300_000,
        auto_topup_amount_nano=10 * NANO,
        low_balance_threshold_nano=0,
    )
    proxy_calls(account, 1)

    async def auto_rows():
        return [r for r in await ledger(account.id) if (r.reference or "").startswith("pi:")]

    rows = await wait_for(auto_rows)
    assert len(rows) == 1 and rows[0].amount_nano == 10 * NANO and rows[0].kind == "topup"
    (call,) = stripe_fake.calls("POST", "/v1/payment_intents")
    assert call.params["amount"] == "1000" and call.params["currency"] == "usd"
    assert call.params["customer"] == user.stripe_customer_id
    assert call.params["payment_method"] == user.stripe_payment_method_id
    assert call.params["off_session"] == "true" and call.params["confirm"] == "true"
    assert call.headers.get("idempotency-key")

    # Stripe's own payment_intent.succeeded event for it credits nothing more.
    pi_id = rows[0].reference.removeprefix("pi:")
    again = post_event(event("payment_intent.succeeded", stripe_fake.payment_intents[pi_id]))
    assert again.status_code == 200 and again.json()["outcome"] == "already_credited"

    # Still below the trigger after more usage? Not again within the interval.
    await set_user(account.id, auto_topup_below_nano=100 * NANO)
    proxy_calls(account, 2)
    await wait_usage(account.id, 3)
    await asyncio.sleep(1.0)
    assert len(stripe_fake.calls("POST", "/v1/payment_intents")) == 1
    receipt = mailbox.wait_for(account.email, "$10.00 added")
    assert "4444" in receipt.get_payload(decode=True).decode()
    balance, ledger_sum = await settled_money(account.id)
    assert balance == ledger_sum


async def test_declined_auto_topup_turns_it_off_and_mails(stripe_fake, fake, make_account, mailbox):
    account = await make_account(usd="0")
    topup(stripe_fake, account, "5")
    await set_user(
        account.id,
        auto_topup_enabled=True,
        auto_topup_below_nano=6 * NANO,
        auto_topup_amount_nano=10 * NANO,
    )
    stripe_fake.decline = True
    proxy_calls(account, 1)

    async def turned_off():
        return not (await user_row(account.id)).auto_topup_enabled

    assert await wait_for(turned_off)
    mail = mailbox.wait_for(account.email, "declined")
    assert "/dashboard/billing" in mail.get_payload(decode=True).decode()
    assert not [r for r in await ledger(account.id) if (r.reference or "").startswith("pi:")]
    balance, ledger_sum = await settled_money(account.id)
    assert balance == ledger_sum < 5 * NANO


def aiusage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv/bin/aiusage"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **TEST_ENV},
        timeout=120,
    )


async def test_ledger_explains_every_balance_and_history_rolls_up_usage(
    stripe_fake, fake, make_account
):
    from aiusage.db import session_scope
    from aiusage.services import billing_view

    account = await make_account(usd="2")
    session = topup(stripe_fake, account, "10")
    proxy_calls(account, 3)
    await wait_usage(account.id, 3)
    charge = stripe_fake.payment_intents[session["payment_intent"]]["latest_charge"]
    post_event(event("charge.refunded", stripe_fake.refund(charge, 250)))
    adjusted = aiusage(
        "credits", "adjust", "--email", account.email, "--usd", "-1.25", "--reason", "goodwill fix"
    )
    assert adjusted.returncode == 0, adjusted.stderr
    assert aiusage("credits", "adjust", "--email", account.email, "--usd", "3").returncode != 0
    proxy_calls(account, 2)
    await wait_usage(account.id, 5)

    balance, ledger_sum = await settled_money(account.id)
    rows = await ledger(account.id)
    usage = sum(r.amount_nano for r in rows if r.kind == "usage")
    assert balance == ledger_sum == (2 + 10 - 2.5 - 1.25) * NANO + usage
    adjustment = next(r for r in rows if r.kind == "adjustment")
    assert adjustment.amount_nano == -1_250_000_000 and adjustment.description == "goodwill fix"

    async with session_scope() as db:
        history = await billing_view.history(db, account.id, 0)
    kinds = [(h.kind, h.amount_nano) for h in history]
    usage_days = [h for h in history if h.kind == "usage"]
    assert len(usage_days) == 1 and usage_days[0].requests == 5  # one row for today's usage
    assert usage_days[0].amount_nano == usage
    assert ("topup", 10 * NANO) in kinds and ("refund", -2_500_000_000) in kinds
    assert ("adjustment", -1_250_000_000) in kinds and ("grant", 2 * NANO) in kinds
    assert len(history) == 5


async def test_billing_settings_rules_live_in_the_services(make_account):
    """The billing page's forms call these: the threshold (blank: the default) and the auto
    top-up (in the top-up range, a card saved) — refusals change nothing."""
    from aiusage.db import session_scope
    from aiusage.services import profile, topups
    from aiusage.services.errors import ServiceError

    account = await make_account(usd="5")
    async with session_scope() as db:
        assert await profile.set_low_balance_threshold(db, account.id, "$2.50") == 2_500_000_000
        assert await profile.set_low_balance_threshold(db, account.id, "") is None
        for bad in ("-1", "two", "0.001"):
            with pytest.raises(ServiceError):
                await profile.set_low_balance_threshold(db, account.id, bad)
    user = await user_row(account.id)
    for enabled, below, amount, code in (
        (True, "5", "20", "no_card"),  # no saved card yet
        (True, "0", "20", "auto_range"),
        (True, "5", "100000", "auto_range"),
        (True, "five", "20", "amount"),
    ):
        with pytest.raises(ServiceError) as refused:
            async with session_scope() as db:
                await topups.set_auto_topup(db, user, enabled, below, amount)
        assert refused.value.code == code
    assert not (await user_row(account.id)).auto_topup_enabled
    await set_user(account.id, card_last4="4242", stripe_payment_method_id="pm_test")
    user = await user_row(account.id)
    async with session_scope() as db:
        await topups.set_auto_topup(db, user, True, "5", "20")
    saved = await user_row(account.id)
    assert saved.auto_topup_enabled
    assert (saved.auto_topup_below_nano, saved.auto_topup_amount_nano) == (5 * NANO, 20 * NANO)
