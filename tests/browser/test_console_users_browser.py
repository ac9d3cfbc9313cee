"""The operator's console, users (issue 14): who may open it, finding an account, adjusting
its credit with a reason (ledger, balance and audit log agree), suspending it (its key gets
403, its sessions end), and events of anyone without a console role never run."""

from __future__ import annotations

import asyncio
import json
import re

import anthropic
import httpx
import openai
import pytest
from playwright.async_api import expect

from tests.helpers.browser import TIMEOUT_MS, new_page, visit
from tests.helpers.console_support import (
    enable_two_factor,
    grant_role,
    make_operator,
    session_cookie,
    sign_in_as,
)

expect.set_options(timeout=TIMEOUT_MS)

KEY_CACHE_WAIT = 1.3  # the proxy authenticates from a 1 s cache
NANO = 10**9


def page_status(
    app_url: str, path: str, token: str | None, *, follow: bool = False
) -> httpx.Response:
    cookies = {"bai_session": token} if token else {}
    with httpx.Client(base_url=app_url, cookies=cookies, follow_redirects=follow) as client:
        return client.get(path)


async def test_console_pages_open_only_to_operators_with_two_factor(app_url, make_account):
    paths = ["/admin", "/admin/users", "/admin/users/1"]
    for path in paths:  # signed out: log in first, then back here
        answer = page_status(app_url, path, None)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={path}"

    user = await make_account(usd="1")
    token = await session_cookie(user.id)
    for path in paths:
        answer = page_status(app_url, path, token)
        assert answer.status_code == 403, path
        assert "admin or support role" in answer.text

    await grant_role(user.id, "support")  # a role, but no second factor yet
    answer = page_status(app_url, "/admin", token)
    assert answer.status_code == 403 and "two-factor" in answer.text

    await enable_two_factor(user.id)
    # (the static server adds a trailing slash: the guard answers that address too)
    assert page_status(app_url, "/admin/users", token, follow=True).status_code == 200
    await grant_role(user.id, None)
    assert page_status(app_url, "/admin/users", token).status_code == 403


def claude_call(app_url: str, key: str) -> anthropic.types.Message:
    client = anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    return client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )


def gpt_call(app_url: str, key: str) -> None:
    client = openai.OpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


async def test_admin_adjusts_credit_and_suspends_an_account(browser, app_url, make_account):
    from aiusage.db import session_scope
    from aiusage.models import AuditEntry, LedgerEntry, User
    from aiusage.services import audit

    admin = await make_operator(make_account, "admin")
    customer = await make_account(usd="3")
    customer_token = await session_cookie(customer.id)

    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, admin.id)
        await visit(page, "/admin/users")
        await page.locator("#user-search").fill(customer.email.split("@")[0])
        await page.locator("#user-search-submit").click()
        rows = page.locator("#users-table .user-row")
        await expect(rows).to_have_count(1)
        await expect(rows).to_contain_text("$3.00")
        await rows.get_by_role("link").click()
        await expect(page).to_have_url(re.compile(rf"/admin/users/{customer.id}/?$"))
        await expect(page.locator("#console-user-email")).to_have_text(customer.email)
        await expect(page.locator("#console-balance")).to_have_text("$3.000000")
        await expect(page.locator("#proxy-keys-table .proxy-key-row")).to_contain_text("test key")
        # Keys by their prefix only: nothing secret reaches the operator's page.
        assert customer.proxy_key not in await page.locator("body").inner_text()

        # A reason is required; then +$2.50 lands in the balance, ledger and audit log.
        form = page.locator("#adjust-form")
        await form.locator("input[name=amount]").fill("2.50")
        await form.locator("input[name=reason]").fill("   ")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-error")).to_contain_text("reason")
        await form.locator("input[name=amount]").fill("2.50")
        await form.locator("input[name=reason]").fill("goodwill for an outage")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-notice")).to_contain_text("adjusted")
        await expect(page.locator("#console-balance")).to_have_text("$5.500000")
        await expect(page.locator("#ledger-table .ledger-row").first).to_contain_text(
            "goodwill for an outage"
        )

        async with session_scope() as db:
            user = await db.get(User, customer.id)
            (entry,) = await audit.entries(
                db, audit.AuditFilter(action="credit.adjust", target_id=str(customer.id))
            )
            last = (
                (await db.execute(LedgerEntry.__table__.select().order_by(LedgerEntry.id.desc())))
                .mappings()
                .first()
            )
        assert user.balance_nano == int(5.5 * NANO)
        assert last["user_id"] == customer.id and last["amount_nano"] == int(2.5 * NANO)
        assert entry.actor == admin.email and entry.reason == "goodwill for an outage"
        assert json.loads(entry.before) == {"balance_nano": 3 * NANO}
        assert json.loads(entry.after)["balance_nano"] == int(5.5 * NANO)

        # Suspend: the key gets 403 in each provider's shape, the browser sessions end.
        gpt_call(app_url, customer.proxy_key)  # works before
        form = page.locator("#suspend-form")
        await form.locator("input[name=reason]").fill("card fraud check")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-notice")).to_contain_text("suspended")
        await expect(page.locator("#console-suspended")).to_have_text("yes")
        await asyncio.sleep(KEY_CACHE_WAIT)
        with pytest.raises(openai.PermissionDeniedError) as refused:
            gpt_call(app_url, customer.proxy_key)
        assert "suspended" in str(refused.value)
        with pytest.raises(anthropic.PermissionDeniedError) as refused_claude:
            claude_call(app_url, customer.proxy_key)
        assert refused_claude.value.body["error"]["type"] == "permission_error"
        async with session_scope() as db:
            from aiusage.services.sessions import user_for_token

            assert await user_for_token(db, customer_token) is None

        # Lifting it: the key works again.
        form = page.locator("#suspend-form")
        await form.locator("input[name=reason]").fill("checked, all fine")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-suspended")).to_have_text("no")
        await asyncio.sleep(KEY_CACHE_WAIT)
        gpt_call(app_url, customer.proxy_key)

    async with session_scope() as db:
        actions = [
            e.action for e in await audit.entries(db, audit.AuditFilter(target_id=str(customer.id)))
        ]
        # The log is append-only: the database refuses to change or remove an entry.
        with pytest.raises(Exception, match="append-only"):
            await db.execute(AuditEntry.__table__.delete())
    assert actions == ["user.unsuspend", "user.suspend", "credit.adjust"]


async def test_suspended_account_cannot_log_in(browser, app_url, make_account):
    from aiusage.db import session_scope
    from aiusage.services import console_users, roles

    customer = await make_account(usd="1")
    async with session_scope() as db:
        await console_users.set_suspended(db, roles.CLI, customer.id, True, "test")
    async with new_page(browser, app_url) as page:
        await visit(page, "/login")
        form = page.locator("#login-form")
        await form.locator("input#email").fill(customer.email)
        await form.locator("input#password").fill(customer.password)
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#flash-error")).to_contain_text("suspended")
        await expect(page).to_have_url(re.compile(r"/login"))


async def test_console_events_need_the_role_at_the_time_they_run(browser, app_url, make_account):
    """A support operator may look but not move money; and a tab left open after the role
    was taken away (a former employee's) can no longer act: every console event is checked
    on the server when it arrives, not when the page was opened."""
    from aiusage.db import session_scope
    from aiusage.models import User

    operator = await make_operator(make_account, "support")
    customer = await make_account(usd="3")

    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, operator.id)
        await visit(page, f"/admin/users/{customer.id}")
        await expect(page.locator("#console-balance")).to_have_text("$3.000000")
        form = page.locator("#adjust-form")
        await form.locator("input[name=amount]").fill("100")
        await form.locator("input[name=reason]").fill("a gift")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-error")).to_contain_text("role does not allow")

        await grant_role(operator.id, "admin")  # promoted: the same tab can now act…
        await form.locator("input[name=amount]").fill("1")
        await form.locator("input[name=reason]").fill("allowed now")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-balance")).to_have_text("$4.000000")

        await grant_role(operator.id, None)  # …and after the role is gone, nothing runs.
        await form.locator("input[name=amount]").fill("50")
        await form.locator("input[name=reason]").fill("after leaving")
        await form.get_by_role("button").click()
        await asyncio.sleep(1.5)
        await expect(page.locator("#console-balance")).to_have_text("$4.000000")

    async with session_scope() as db:
        assert (await db.get(User, customer.id)).balance_nano == 4 * NANO


async def test_admin_refunds_a_top_up_through_stripe(browser, app_url, make_account, stripe_api):
    """The console asks Stripe for the refund; the balance follows Stripe's charge.refunded
    event (once), as for a refund made in Stripe's own dashboard."""
    from aiusage.db import session_scope
    from aiusage.services import audit
    from tests.helpers.billing_support import charge_of, event, post_event, topup, user_row

    admin = await make_operator(make_account, "admin")
    customer = await make_account(usd="0")
    session = topup(stripe_api, customer, "25")
    assert (await user_row(customer.id)).balance_nano == 25 * NANO

    async with new_page(browser, app_url) as page:
        await sign_in_as(page, app_url, admin.id)
        await visit(page, f"/admin/users/{customer.id}")
        form = page.locator("#refund-form")
        await expect(form.locator("#refund-entry option")).to_have_count(1)
        await form.locator("input[name=reason]").fill("asked within 14 days")
        await form.get_by_role("button").click()
        await expect(page.locator("#console-notice")).to_contain_text("Stripe is refunding")

    charge_id = charge_of(stripe_api, session)
    charge = json.loads(json.dumps(stripe_api.charges[charge_id]))
    assert charge["amount_refunded"] == 2500  # cents: the whole top-up
    for _ in range(2):  # Stripe may deliver an event more than once
        assert post_event(event("charge.refunded", charge)).status_code == 200
    assert (await user_row(customer.id)).balance_nano == 0
    async with session_scope() as db:
        (entry,) = await audit.entries(
            db, audit.AuditFilter(action="topup.refund", target_id=str(customer.id))
        )
    assert entry.actor == admin.email and entry.reason == "asked within 14 days"
