"""Per-language formats in the browser: a user with credit and a request behind them, in a
browser set to Beijing time, switches /dashboard to 中文 and sees the balance in US$ and the
request's time as a Chinese date in their own timezone, then switches back to English."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import anthropic
from playwright.async_api import Page, expect

from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot
from tests.helpers.support import settled_money, wait_usage

expect.set_options(timeout=TIMEOUT_MS)

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


async def choose_language(page: Page, name: str) -> None:
    await page.locator("#language-switcher").click()
    await page.get_by_role("option", name=name).click()


def dollars(nano: int) -> str:
    """'1,234.50' for a positive nano-USD amount, cents rounded half-up (independently of the
    app's code)."""
    cents = (nano + 5_000_000) // 10_000_000
    return f"{cents // 100:,}.{cents % 100:02d}"


async def test_dashboard_follows_the_language(browser, app_url, fake, make_account):
    account = await make_account(
        usd="1234.5", provider_keys={"anthropic": "sk-ant-api03-" + "f" * 40}
    )
    client = anthropic.Anthropic(
        api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0
    )
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    (row,) = await wait_usage(account.id, 1)
    balance, _ = await settled_money(account.id)
    created = (
        row.created_at.replace(tzinfo=UTC) if row.created_at.tzinfo is None else row.created_at
    )
    beijing = created.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)
    zh_time = f"{beijing.year}年{beijing.month}月{beijing.day}日 {beijing:%H:%M:%S}"
    en_time = f"{MONTHS[beijing.month - 1]} {beijing.day}, {beijing.year}, {beijing:%H:%M:%S}"

    async with new_page(browser, app_url) as page:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Shanghai"})
        async with hydrated(page):
            await page.goto("/login")
        form = page.locator("#login-form")
        await form.locator("input#email").fill(account.email)
        await form.locator("input#password").fill(account.password)
        async with hydrated(page):
            await form.locator("button[type=submit]").click()
        await expect(page).to_have_url(re.compile(r"/dashboard/?$"))

        balance_stat = page.locator("#stat-balance")
        recent = page.locator("#recent-table .usage-row")
        await expect(balance_stat).to_have_text(f"${dollars(balance)}")
        await expect(recent).to_have_count(1)
        await expect(recent).to_contain_text(en_time)

        await choose_language(page, "简体中文")
        await expect(balance_stat).to_have_text(f"US${dollars(balance)}")
        await expect(recent).to_contain_text(zh_time)
        await expect(page.locator("#stat-requests")).to_have_text("1")
        await screenshot(page, "dashboard-formats-zh")

        await choose_language(page, "English")
        await expect(balance_stat).to_have_text(f"${dollars(balance)}")
        await expect(recent).to_contain_text(en_time)
        await expect(recent).not_to_contain_text("年")
