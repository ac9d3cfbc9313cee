"""The billing page as a user judges it (issue 16): the history in the browser's own time zone
(usage rolled up per local day), the auto top-up form disabled with the reason and the way
out while no card is saved, and a link to the public prices."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import Page, expect
from sqlalchemy import update

from tests.helpers.browser import TIMEOUT_MS, log_in, new_page, screenshot, visit

expect.set_options(timeout=TIMEOUT_MS)

NANO = 10**9


async def in_beijing(page: Page) -> None:
    """The browser's clock in UTC+8 (no daylight saving), whatever the machine's zone."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Shanghai"})


async def arrange_history(user_id: int) -> None:
    """The account's granted credit moved to 23:30 UTC on 10 January, and two usage charges
    either side of UTC midnight: 20:00 UTC on the 10th and 02:00 UTC on the 11th — two UTC
    days, but one day (the 11th, 04:00 and 10:00) in Beijing. Balance = sum of the ledger."""
    from aiusage.db import session_scope
    from aiusage.models import LedgerEntry, User

    async with session_scope() as db:
        user = await db.get(User, user_id)
        (grant,) = (
            await db.execute(LedgerEntry.__table__.select().where(LedgerEntry.user_id == user_id))
        ).all()
        await db.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id == grant.id)
            .values(created_at=datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
        )
        balance = user.balance_nano
        for moment, cost in (
            (datetime(2026, 1, 10, 20, 0, tzinfo=UTC), 1_250_000_000),
            (datetime(2026, 1, 11, 2, 0, tzinfo=UTC), 750_000_000),
        ):
            balance -= cost
            db.add(
                LedgerEntry(
                    user_id=user_id,
                    created_at=moment,
                    kind="usage",
                    amount_nano=-cost,
                    balance_after_nano=balance,
                )
            )
        await db.execute(update(User).where(User.id == user_id).values(balance_nano=balance))


async def test_history_is_in_the_browsers_time_zone(browser, app_url, make_account):
    account = await make_account(usd="10")
    await arrange_history(account.id)
    async with new_page(browser, app_url) as page:
        await in_beijing(page)
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/billing")
        rows = page.locator("#billing-history .history-row")
        # One usage row for the local day (two in UTC), then the grant at its local time.
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text("Jan 11, 2026")
        await expect(rows.nth(0)).to_contain_text("Usage (daily total)")
        await expect(rows.nth(0)).to_contain_text("× 2")
        await expect(rows.nth(0)).to_contain_text("-$2.0000")
        await expect(rows.nth(1)).to_contain_text("Jan 11, 2026, 07:30")
        await expect(rows.nth(1)).to_contain_text("Credit granted")
        await expect(page.locator("#billing-history")).not_to_contain_text("UTC")
        await expect(page.locator("#billing-balance")).to_have_text("$8.00")
        await screenshot(page, "billing-history-local-time")


async def test_auto_top_up_is_disabled_until_a_card_is_saved(browser, app_url, make_account):
    from aiusage.db import session_scope
    from aiusage.models import User

    account = await make_account(usd="10")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/billing")
        reason = page.locator("#auto-needs-card")
        await expect(reason).to_be_visible()
        # Which reason (no card saved yet, not the configuration) and how to get one.
        await expect(reason).to_contain_text("needs a saved card, and none is saved yet")
        await expect(reason).to_contain_text('Top up once by card under "Add credit"')
        for control in ("#auto-enabled", "#auto-below", "#auto-amount", "#save-auto"):
            await expect(page.locator(control)).to_be_disabled()
        await expect(page.locator("#auto-not-configured")).to_have_count(0)
        await screenshot(page, "billing-auto-needs-card")

        # A top-up by card saved one (what the Stripe webhook stores): the form is open.
        async with session_scope() as db:
            await db.execute(
                update(User)
                .where(User.id == account.id)
                .values(card_brand="visa", card_last4="4242", stripe_payment_method_id="pm_x")
            )
        await visit(page, "/dashboard/billing")
        await expect(page.locator("#billing-card")).to_have_text("VISA •••• 4242")
        await expect(page.locator("#auto-needs-card")).to_have_count(0)
        for control in ("#auto-enabled", "#auto-below", "#auto-amount", "#save-auto"):
            await expect(page.locator(control)).to_be_enabled()
        await page.locator("#auto-enabled").click()
        await page.locator("#auto-below").fill("5")
        await page.locator("#auto-amount").fill("20")
        await page.locator("#save-auto").click()
        await expect(page.locator("#billing-notice")).to_contain_text("Auto top-up settings saved")


async def test_without_stripe_the_reason_is_the_configuration(make_account, monkeypatch):
    """The test server has Stripe configured; the page's state for a server without it says
    so (the page shows #auto-not-configured for it) — a saved card changes nothing."""
    import reflex as rx

    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.services import billing_view, stripe_client
    from aiusage.services.sessions import create_session
    from aiusage.state.billing import BillingState

    account = await make_account(usd="10")
    async with session_scope() as db:
        await db.execute(
            update(User)
            .where(User.id == account.id)
            .values(card_brand="visa", card_last4="4242", stripe_payment_method_id="pm_x")
        )
        token = await create_session(db, await db.get(User, account.id))
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(BillingState.get_full_name().split("."))
    state.router_data = {"headers": {"cookie": f"bai_session={token}"}}
    state._update_router_vars(state.router_data, {})

    await BillingState.set_tz.fn(state, 60)
    assert state.auto_blocked == ""
    monkeypatch.setattr(stripe_client, "configured", lambda: False)
    await BillingState.set_tz.fn(state, 60)
    assert state.auto_blocked == billing_view.NOT_CONFIGURED
    assert not state.configured


async def test_prices_are_a_click_away_in_both_languages(browser, app_url, make_account):
    account = await make_account(usd="10")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/billing")
        link = page.locator("#billing-pricing-link")
        await expect(link).to_have_attribute("href", "/pricing")
        await expect(link).to_have_text("Prices per model")
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(link).to_have_text("各模型价格")
        await expect(page.locator("#auto-needs-card")).to_contain_text("已保存的银行卡")
        await link.click()
        await expect(page).to_have_url(re.compile(r"/pricing/?$"))
