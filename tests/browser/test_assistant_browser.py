"""The onsite assistant in a real chromium against the real server: a visitor on the landing
page asks how to use Claude Code and gets the answer; the request went through our own proxy
(the fake upstream received it with the platform key, the README's Claude Code section in
its context and nothing secret) and left a usage row on the platform account, whose balance
is still the sum of its ledger; the visitor hands the conversation over to support; another
visitor sees none of it, and the handle never reaches a browser. A signed-in user asks on the
dashboard in Chinese and hands over without typing an address."""

from __future__ import annotations

import asyncio
import json
import re
import time

from playwright.async_api import Page, expect
from sqlalchemy import select

from tests.browser.test_i18n import choose_language
from tests.conftest import APP_URL, TEST_ENV
from tests.helpers.browser import TIMEOUT_MS, frames, log_in, new_page, screenshot, visit

expect.set_options(timeout=TIMEOUT_MS)

QUESTION = "How do I use Claude Code with aiusage?"


async def platform_account():
    from aiusage.db import session_scope
    from aiusage.services import accounts, assistant_platform

    async with session_scope() as db:
        return await accounts.get_by_email(db, assistant_platform.account_email())


async def usage_count(user_id: int) -> int:
    from tests.helpers.support import usage_rows

    return len(await usage_rows(user_id))


async def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


def chat_requests(fake, after: int) -> list:
    return [r for r in fake.requests[after:] if r.path == "/v1/chat/completions"]


async def ask(page: Page, question: str) -> None:
    await page.locator("#assistant-question").fill(question)
    await page.locator("#assistant-send").click()


async def open_assistant(page: Page) -> None:
    await page.locator("#assistant-button").click()
    await expect(page.locator("#assistant-panel")).to_be_visible()


async def test_a_visitor_asks_about_claude_code_and_hands_over(browser, app_url, fake):
    from aiusage.db import session_scope
    from aiusage.models import AssistantConversation, SupportMessage
    from aiusage.services import billing

    fake.behavior.reply_text = "Set ANTHROPIC_BASE_URL to the site's /api and run claude."
    account = await platform_account()
    assert account is not None, "the app makes the platform account when it starts"
    assert account.password_hash is None and account.email_verified_at is None
    rows_before = await usage_count(account.id)
    seen = len(fake.requests)

    async with new_page(browser, app_url) as page:
        await visit(page, "/")
        await open_assistant(page)
        await expect(page.locator("#assistant-note")).to_contain_text(
            f"kept for {TEST_ENV['AIUSAGE_SUPPORT_RETENTION_DAYS']} days"
        )
        await ask(page, QUESTION)
        await expect(page.locator(".assistant-question")).to_have_text(re.compile(QUESTION))
        await expect(page.locator(".assistant-answer")).to_contain_text(fake.behavior.reply_text)
        await screenshot(page, "assistant-landing-en")

        # The question went through our proxy to the provider, with the platform's key, the
        # README's Claude Code section as context, and nothing secret.
        (request,) = chat_requests(fake, seen)
        assert (
            request.headers["authorization"] == f"Bearer {TEST_ENV['AIUSAGE_PLATFORM_OPENAI_KEY']}"
        )
        body = request.json()
        system = body["messages"][0]
        assert system["role"] == "system"
        assert f"ANTHROPIC_BASE_URL={APP_URL}/api ANTHROPIC_API_KEY" in system["content"]
        assert '<document source="README" title="Using the proxy">' in system["content"]
        assert body["messages"][-1] == {"role": "user", "content": QUESTION}
        text = request.body.decode()
        for secret in (TEST_ENV["AIUSAGE_PLATFORM_OPENAI_KEY"], TEST_ENV["AIUSAGE_SECRET_KEY"]):
            assert secret not in text
        # The documents show a key's prefix ("sk-aiu-…"), never a key.
        assert not re.search(r"sk-aiu-[A-Za-z0-9_\-]{20,}", text)

        # Metered to the platform account like any request; its money still adds up.
        async def metered() -> bool:
            return await usage_count(account.id) > rows_before

        assert await wait_for(metered), "no usage row on the platform account"
        async with session_scope() as db:
            balance, _held = await billing.balance(db, account.id)
            assert balance == await billing.ledger_sum(db, account.id)

        # Hand over to support, from a signed-out visitor: an address is asked for.
        await page.locator("#assistant-handover").click()
        await page.locator("#assistant-email").fill("visitor-assistant@example.com")
        await page.locator("#assistant-handover-send").click()
        await expect(page.locator("#assistant-notice")).to_contain_text("Sent to support")
        await expect(page.locator(".assistant-turn")).to_have_count(0)

        async with session_scope() as db:
            message = (
                (
                    await db.execute(
                        select(SupportMessage)
                        .where(SupportMessage.email == "visitor-assistant@example.com")
                        .order_by(SupportMessage.id.desc())
                    )
                )
                .scalars()
                .first()
            )
            assert message is not None
            assert (message.source, message.status, message.user_id) == ("assistant", "open", None)
            assert QUESTION in message.body and fake.behavior.reply_text in message.body
            conversation = (
                await db.execute(
                    select(AssistantConversation).where(
                        AssistantConversation.handed_over_message_id == message.id
                    )
                )
            ).scalar_one()
            handle = conversation.handle
            assert json.loads(conversation.transcript)[0] == {"role": "user", "text": QUESTION}
        # The handle stayed on the server.
        assert not any(handle in frame for frame in frames(page).received)
        assert not any(handle in frame for frame in frames(page).sent)

    # Another visitor sees nothing of it.
    async with new_page(browser, app_url) as other:
        await visit(other, "/pricing")
        await open_assistant(other)
        await expect(other.locator("#assistant-panel")).to_contain_text("Ask how to connect")
        await expect(other.locator(".assistant-turn")).to_have_count(0)
        assert not any(QUESTION in frame for frame in frames(other).received)


async def test_a_signed_in_user_asks_on_the_dashboard_in_chinese(
    browser, app_url, fake, make_account
):
    from aiusage.db import session_scope
    from aiusage.models import AssistantConversation, SupportMessage

    account = await make_account(usd="1")
    fake.behavior.reply_text = "在 Connect 页面复制 Claude Code 的设置。"
    seen = len(fake.requests)
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await choose_language(page, "简体中文")
        await open_assistant(page)
        await expect(page.locator("#assistant-panel")).to_contain_text("帮助助手")
        await ask(page, "如何在 aiusage 中使用 Claude Code？")
        await expect(page.locator(".assistant-answer")).to_contain_text(fake.behavior.reply_text)
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "assistant-dashboard-zh-phone")

        (request,) = chat_requests(fake, seen)
        system = request.json()["messages"][0]["content"]
        assert "Answer in Simplified Chinese" in system
        assert "接入你的工具: Claude Code" in system and "ANTHROPIC_BASE_URL" in system

        # Signed in: no address to type, the account's is used.
        await page.locator("#assistant-handover").click()
        await expect(page.locator("#assistant-email")).to_have_count(0)
        await page.locator("#assistant-handover-send").click()
        await expect(page.locator("#assistant-notice")).to_contain_text("已发送给客服")

    async with session_scope() as db:
        message = (
            await db.execute(select(SupportMessage).where(SupportMessage.user_id == account.id))
        ).scalar_one()
        assert (message.source, message.email) == ("assistant", account.email)
        conversation = (
            await db.execute(
                select(AssistantConversation).where(AssistantConversation.user_id == account.id)
            )
        ).scalar_one()
        assert conversation.handed_over_message_id == message.id
