"""The Connect page as a new user meets it (issue 16): while the account has no usage, the page
waits for its first request, and turns green with the model and the time as soon as a real
SDK request through the proxy has been metered — without a reload. Its Copy buttons copy in
the browser and say Copied."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, timedelta

import anthropic
from playwright.async_api import expect

from aiusage.state.dashboard_connect import POLL_SECONDS
from tests.helpers.browser import (
    TIMEOUT_MS,
    frames,
    hydrated,
    log_in,
    new_page,
    screenshot,
    visit,
)
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

PROVIDER_KEY = "sk-ant-api03-" + secrets.token_urlsafe(30).replace("-", "x") + "Live"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


async def test_the_first_request_turns_the_page_green(browser, app_url, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": PROVIDER_KEY})
    fake.behavior.reply_text = "A reply the page must never show."
    async with new_page(browser, app_url) as page:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Shanghai"})
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/connect")
        waiting = page.locator("#first-request-waiting")
        await expect(waiting).to_be_visible()
        await expect(waiting).to_contain_text("Waiting for your first request")
        await expect(page.locator("#first-request-received")).to_have_count(0)
        await screenshot(page, "connect-waiting")
        # A mark in this document: it survives only if the page is not loaded again.
        await page.evaluate("() => { window.__stillThisPage = true; }")

        client = anthropic.AsyncAnthropic(
            api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0
        )
        try:
            await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "a prompt the page must never show"}],
            )
        finally:
            await client.close()
        (row,) = await wait_usage(account.id, 1)

        received = page.locator("#first-request-received")
        await expect(received).to_be_visible()
        await expect(received).to_have_attribute("data-accent-color", "green")
        await expect(received).to_contain_text("First request received:")
        await expect(page.locator("#first-request-model")).to_have_text("claude-sonnet-4-5")
        created = row.created_at.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)
        local = f"{MONTHS[created.month - 1]} {created.day}, {created.year}, {created:%H:%M:%S}"
        await expect(page.locator("#first-request-time")).to_have_text(local)
        await expect(waiting).to_have_count(0)
        assert await page.evaluate("() => window.__stillThisPage === true"), "the page reloaded"
        body = await page.locator("body").inner_text()
        assert "must never show" not in body
        await screenshot(page, "connect-first-request")

        # The language switch shows the same moment in Chinese.
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(received).to_contain_text("已收到第一个请求")
        await expect(page.locator("#first-request-time")).to_contain_text(
            f"{created.year}年{created.month}月{created.day}日"
        )
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="English").click()

        # Once the account has usage, the page has nothing to wait for.
        await visit(page, "/dashboard/connect")
        await expect(page.locator("#anthropic-base")).to_have_text(f"{app_url}/api")
        await expect(waiting).to_have_count(0)
        await expect(received).to_have_count(0)


async def test_copy_buttons_copy_in_the_browser(browser, app_url, make_account):
    account = await make_account(usd="1")
    async with new_page(browser, app_url) as page:
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/connect")
        for source in ("anthropic-base", "openai-base", "snippet-claude-code", "snippet-codex"):
            button = page.locator(f"#{source}-copy")
            # Both labels are in the button; the one shown is what the user reads.
            await expect(button).to_have_text("Copy", use_inner_text=True)
            await button.click()
            await expect(button).to_have_text("Copied", use_inner_text=True)
            shown = await page.locator(f"#{source}").inner_text()
            copied = await page.evaluate("() => navigator.clipboard.readText()")
            assert copied.strip() == shown.strip() and copied.strip(), source
            await expect(button).to_have_text("Copy", use_inner_text=True)  # ready again
        assert 'env_key = "AIUSAGE_API_KEY"' in copied  # the last one: Codex's config


async def test_leaving_the_page_stops_the_wait(browser, app_url, fake, make_account):
    """The watch belongs to the page: once the tab shows another page, a first request
    arriving sends nothing to the browser (the watch stopped; no polling left behind)."""
    account = await make_account(usd="5", provider_keys={"anthropic": PROVIDER_KEY})
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/connect")
        await expect(page.locator("#first-request-waiting")).to_be_visible()
        async with hydrated(page):
            await page.get_by_role("link", name="Keys").click()  # inside the app, no reload
        await expect(page).to_have_url(re.compile(r"/dashboard/keys/?$"))
        after_leaving = len(frames(page).received)

        client = anthropic.AsyncAnthropic(
            api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0
        )
        try:
            await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "hello"}],
            )
        finally:
            await client.close()
        await wait_usage(account.id, 1)
        await asyncio.sleep(3 * POLL_SECONDS)
        late = frames(page).received[after_leaving:]
        assert not [f for f in late if "first_status" in f or "first_model" in f], late
