"""The support inbox and the audit log as operators use them in the browser.

A user writes from the dashboard's support page, another (who reads Chinese) through the
service; an admin answers the first and closes it, a support-role operator answers the
second; each reply arrives by mail in its reader's language; the audit page lists the
replies and the close with the operators' addresses and its filters narrow the list. A plain
user's browser gets 403 from both pages."""

from __future__ import annotations

import re
import secrets
from email.header import decode_header, make_header

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select, update

from tests.helpers.browser import TIMEOUT_MS, new_page, screenshot, sideways_overflow, visit
from tests.helpers.console_support import make_operator, sign_in_as
from tests.helpers.support import body_of

expect.set_options(timeout=TIMEOUT_MS)


async def set_locale(user_id: int, locale: str) -> None:
    from aiusage.db import session_scope
    from aiusage.models import User

    async with session_scope() as db:
        await db.execute(update(User).where(User.id == user_id).values(locale=locale))


async def message_of(user_id: int) -> int:
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage

    async with session_scope() as db:
        return (
            await db.execute(
                select(SupportMessage.id)
                .where(SupportMessage.user_id == user_id)
                .order_by(SupportMessage.id.desc())
                .limit(1)
            )
        ).scalar_one()


async def submit_through_service(user_id: int, subject: str, body: str) -> int:
    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.services import support

    async with session_scope() as db:
        user = await db.get(User, user_id)
        return (await support.submit(db, user, subject, body)).id


async def reply_in_inbox(page: Page, message_id: int, text: str) -> None:
    card = page.locator(f"#message-{message_id}")
    await card.locator(f"textarea#reply-{message_id}").fill(text)
    await card.locator("button.send-reply").click()
    await expect(page.locator("#console-notice")).to_contain_text("Reply sent")
    await expect(card.locator(".support-reply").last).to_contain_text(text.splitlines()[0])
    await expect(card.locator(f"textarea#reply-{message_id}")).to_have_value("")


async def test_operators_answer_close_and_find_it_in_the_audit_log(
    browser, app_url, make_account, mailbox
):
    admin = await make_operator(make_account, "admin")
    staff = await make_operator(make_account, "support")
    english = await make_account(usd="1")
    chinese = await make_account(usd="1")
    await set_locale(chinese.id, "zh")
    tag = secrets.token_hex(3)

    # The English user writes from the dashboard.
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, english.id)
        await visit(page, "/dashboard/support")
        await page.locator("#support-form input#subject").fill(f"Help with keys {tag}")
        await page.locator("#support-form textarea#body").fill("My key does not work.\n<i>x</i>")
        await page.locator("#support-form button[type=submit]").click()
        await expect(page.locator("#support-message")).to_contain_text("Thank you")
    english_message = await message_of(english.id)
    # The Chinese user's message comes through the service.
    chinese_message = await submit_through_service(
        chinese.id, f"发票问题 {tag}", "三月的发票在哪里？"
    )

    # The admin answers the English user (HTML in the reply stays text) and closes it.
    html_reply = f"Hello {tag}: try a new key.\n<b>not bold</b> <script>alert(1)</script>"
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, admin.id)
        await visit(page, "/admin/support")
        card = page.locator(f"#message-{english_message}")
        await expect(card).to_contain_text(f"Help with keys {tag}")
        await expect(card.locator(".message-body")).to_have_text("My key does not work.\n<i>x</i>")
        await expect(card.locator(".message-body i")).to_have_count(0)
        await expect(card).to_contain_text("Contact form")
        await expect(card.locator(".message-status")).to_have_text("Open")
        sender = card.locator("a.sender-link")
        await expect(sender).to_have_text(english.email)
        await expect(sender).to_have_attribute("href", f"/admin/users/{english.id}")
        await expect(page.locator(f"#message-{chinese_message}")).to_contain_text("简体中文")

        await reply_in_inbox(page, english_message, html_reply)
        reply = card.locator(".support-reply").last
        await expect(reply).to_contain_text("<b>not bold</b> <script>alert(1)</script>")
        await expect(reply).to_contain_text(admin.email)
        await expect(reply.locator("b, script")).to_have_count(0)
        await screenshot(page, "console-support")

        # A forged message id (the hidden field rewritten) is refused; the text stays.
        other = page.locator(f"#message-{chinese_message}")
        for forged in ("999999999999", "abc", "1 OR 1=1"):
            await other.locator("input[name=message_id]").evaluate(
                "(el, v) => { el.value = v; }", forged
            )
            await other.locator(f"textarea#reply-{chinese_message}").fill("Sent nowhere")
            await other.locator("button.send-reply").click()
            await expect(page.locator("#console-error")).to_contain_text("no such message")
            await expect(other.locator(f"textarea#reply-{chinese_message}")).to_have_value(
                "Sent nowhere"
            )
        await other.locator("input[name=message_id]").evaluate(
            "(el, v) => { el.value = v; }", str(chinese_message)
        )

        # Closed: it leaves the open list and shows under Closed, with its reply.
        await card.locator("button.close-message").click()
        await expect(page.locator("#console-notice")).to_contain_text("Message closed")
        await expect(page.locator(f"#message-{english_message}")).to_have_count(0)
        # The half-written reply stayed with its own message while the list changed.
        await expect(other.locator(f"textarea#reply-{chinese_message}")).to_have_value(
            "Sent nowhere"
        )
        await page.locator("#support-filter").get_by_role("radio", name="Closed").click()
        await expect(card.locator(".message-status")).to_have_text("Closed")
        await expect(card.locator(".support-reply")).to_have_count(1)
        await expect(card.locator("button.reopen-message")).to_be_visible()

    mail = mailbox.wait_for(english.email, f"Re: Help with keys {tag}")
    text = body_of(mail).replace("\r\n", "\n")
    assert mail["Subject"] == f"Re: Help with keys {tag}"
    assert "aiusage support has answered your message" in text
    assert html_reply in text and mail.get_content_type() == "text/plain"

    # The support-role operator answers the Chinese user: the mail is in Chinese.
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, staff.id)
        await visit(page, "/admin/support")
        await reply_in_inbox(page, chinese_message, f"您好 {tag}，发票在账单页面。")
        await expect(
            page.locator(f"#message-{chinese_message} .support-reply").last
        ).to_contain_text(staff.email)
    # The only mail to this user; its subject is an encoded header (non-ASCII).
    mail = mailbox.wait_for(chinese.email, "")
    assert str(make_header(decode_header(mail["Subject"]))) == f"Re: 发票问题 {tag}"
    text = body_of(mail)
    assert "aiusage 客服已回复你的消息" in text and f"您好 {tag}，发票在账单页面。" in text
    assert "answered" not in text

    # The audit log: the replies and the close, who did them, and filters that narrow it.
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, staff.id)
        await visit(page, f"/admin/audit?target_type=support_message&target_id={english_message}")
        entries = page.locator("#audit-log .audit-entry")
        await expect(entries).to_have_count(2)
        await expect(page.locator("#audit-target-id")).to_have_value(str(english_message))
        close, reply = entries.nth(0), entries.nth(1)  # newest first
        await expect(close.locator(".audit-action")).to_have_text("support.close")
        await expect(close.locator(".audit-actor")).to_have_text(admin.email)
        await expect(close.locator(".audit-when")).to_contain_text("UTC")
        await expect(close.locator(".audit-changes")).to_contain_text("status: open → closed")
        await expect(reply.locator(".audit-action")).to_have_text("support.reply")
        await expect(reply.locator(".audit-changes")).to_contain_text("length: — → ")
        await expect(reply).not_to_contain_text("not bold")  # the reply's text is not logged

        # Narrowed by action (exact, then prefix), actor and days.
        await page.locator("#audit-action").fill("support.close")
        await page.locator("#audit-apply").click()
        await expect(entries).to_have_count(1)
        await expect(entries.first.locator(".audit-action")).to_have_text("support.close")
        await page.locator("#audit-action").fill("support.")
        await page.locator("#audit-actor").fill(staff.email)
        await page.locator("#audit-target-id").fill("")
        await page.locator("#audit-apply").click()
        await expect(entries).to_have_count(1)
        await expect(entries.first).to_contain_text(f"support_message {chinese_message}")
        await page.locator("#audit-from").fill("2099-01-01")
        await page.locator("#audit-apply").click()
        await expect(page.locator("#audit-empty")).to_be_visible()
        await page.locator("#audit-from").fill("2099-01-02")
        await page.locator("#audit-to").fill("2099-01-01")
        await page.locator("#audit-apply").click()
        await expect(page.locator("#console-error")).to_contain_text("first not after the last")
        await page.locator("#audit-clear").click()
        await expect(page.locator("#audit-actor")).to_have_value("")
        await expect(entries.first).to_be_visible()
        await screenshot(page, "console-audit")
        # The page has no control that changes an entry.
        await expect(page.locator("#audit-log button")).to_have_count(0)


@pytest.mark.parametrize("path", ["/admin/support", "/admin/audit"])
async def test_a_plain_user_gets_403(browser, app_url, make_account, path):
    user = await make_account(usd="1")
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, user.id)
        response = await page.goto(path)
        assert response is not None and response.status == 403
        await expect(page.locator("h1")).to_contain_text("403")


async def test_both_pages_fit_a_phone_in_both_languages(browser, app_url, make_account):
    admin = await make_operator(make_account, "admin")
    user = await make_account(usd="1")
    # A long subject and a body of one unbroken word: they wrap instead of widening the page.
    await submit_through_service(user.id, "x" * 200, "a-long-word-" * 80)
    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, admin.id)
        await page.set_viewport_size({"width": 390, "height": 844})
        for lang, language in (("en", "English"), ("zh", "简体中文")):
            await visit(page, "/admin/support")
            await page.locator("#language-switcher").click()
            await page.get_by_role("option", name=language).click()
            await expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{lang}"))
            for path in ("/admin/support", "/admin/audit"):
                await visit(page, path)
                await expect(page.locator("h1").first).to_be_visible()
                assert await sideways_overflow(page) == [], (lang, path)
                await screenshot(page, f"console-{path.rsplit('/', 1)[1]}-phone-{lang}")
        await expect(page.locator("body")).to_contain_text("审计日志")
