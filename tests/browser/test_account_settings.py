"""Settings and support as a user meets them in the browser."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.test_browser_auth import click_submit, log_in, path_is
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot

expect.set_options(timeout=TIMEOUT_MS)


async def user_row(user_id: int):
    from aiusage.db import session_scope
    from aiusage.models import User

    async with session_scope() as db:
        return await db.get(User, user_id)


async def test_settings_threshold_marketing_email_and_support(
    browser, app_url, make_account, mailbox
):
    account = await make_account(usd="2")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        async with hydrated(page):
            await page.goto("/dashboard/settings")
        await expect(page.locator("#settings-current-email")).to_have_text(account.email)

        await page.locator("#threshold-form input#threshold").fill("12.50")
        await page.locator("#threshold-form button[type=submit]").click()
        await expect(page.locator("#settings-alerts-message")).to_contain_text("saved")
        assert (await user_row(account.id)).low_balance_threshold_nano == 12_500_000_000

        await page.locator("#threshold-form input#threshold").fill("lots")
        await page.locator("#threshold-form button[type=submit]").click()
        await expect(page.locator("#settings-alerts-message")).to_contain_text("in dollars")
        assert (await user_row(account.id)).low_balance_threshold_nano == 12_500_000_000

        # Product news is opt-in: a new account gets none until it switches them on.
        assert (await user_row(account.id)).marketing_opt_out is True
        await expect(page.locator("#marketing-switch")).to_have_attribute("data-state", "unchecked")
        await page.locator("#marketing-switch").click()
        await expect(page.locator("#settings-marketing-message")).to_be_visible()
        assert (await user_row(account.id)).marketing_opt_out is False

        new_email = "changed-" + account.email
        await page.locator("#email-form input#new_email").fill(new_email)
        await page.locator("#email-form input[name=current_password]").fill(account.password)
        await page.locator("#email-form button[type=submit]").click()
        await expect(page.locator("#settings-email-message")).to_contain_text("new address")
        assert "confirm" in mailbox.wait_for(new_email, "new aiusage email")["Subject"].lower()
        await screenshot(page, "settings")

        async with hydrated(page):
            await page.goto("/dashboard/support")
        await page.locator("#support-form input#subject").fill("Help with keys")
        await page.locator("#support-form textarea#body").fill("My key does not work.")
        await page.locator("#support-form button[type=submit]").click()
        await expect(page.locator("#support-message")).to_contain_text("Thank you")
        await expect(page.locator("#support-history")).to_contain_text("Help with keys")
        mail = mailbox.wait_for("operator@aiusage.test", "Help with keys")
        assert account.email in mail.get_payload(decode=True).decode()
        await screenshot(page, "support")


async def test_delete_account_in_the_browser(browser, app_url, make_account):
    account = await make_account(usd="1")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        async with hydrated(page):
            await page.goto("/dashboard/settings")
        form = page.locator("#delete-form")
        await form.locator("input#confirm_email").fill("not-me@example.com")
        await form.locator("input[name=current_password]").fill(account.password)
        await click_submit(page, form.locator("button[type=submit]"))
        await expect(page.locator("#flash-error")).to_contain_text("Nothing was deleted")
        assert (await user_row(account.id)).closed_at is None

        await form.locator("input#confirm_email").fill(account.email)
        await form.locator("input[name=current_password]").fill(account.password)
        await click_submit(page, form.locator("button[type=submit]"))
        await expect(page).to_have_url(path_is("/"))
        await expect(page.locator("#flash-notice")).to_contain_text("account is deleted")
        assert not [c for c in await page.context.cookies() if c["name"] == "bai_session"]
        assert (await user_row(account.id)).closed_at is not None
        await page.goto("/dashboard")
        await expect(page).to_have_url(path_is("/login"))
