"""Auth as a user meets it: a real chromium against the real server and the real SMTP sink."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.helpers.browser import TIMEOUT_MS, frames, hydrated, new_page, screenshot, visit
from tests.helpers.support import link_in

expect.set_options(timeout=TIMEOUT_MS)

STACK_TRACE_MARKERS = ("Traceback", 'File "', "Exception", "Error:", "at Object.", "\\n  at ")


def new_email() -> str:
    return f"browser-{secrets.token_hex(6)}@example.com"


def new_password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


def path_is(path: str) -> re.Pattern[str]:
    """The page's URL has exactly this path (the static server may add a trailing slash),
    with any query string."""
    return re.compile(r"^https?://[^/]+" + re.escape(path.rstrip("/")) + r"/?(\?.*)?$")


async def click_submit(page: Page, button: Locator) -> None:
    """Clicks a form's submit button as a user would; the browser must then POST the form to
    its action and load the page the server answers with."""
    form = button.locator("xpath=ancestor::form")
    action = await form.get_attribute("action")
    async with hydrated(page):
        try:
            async with page.expect_request(
                lambda r: r.method == "POST" and urlsplit(r.url).path == action, timeout=5_000
            ):
                await button.click()
        except PlaywrightTimeout:
            raise AssertionError(
                f"clicking {await button.inner_text()!r} sent no POST {action}: "
                "the page cancelled the form's native submission"
            ) from None


async def fill_and_submit(page: Page, form_id: str, email: str, password: str) -> None:
    form = page.locator(f"#{form_id}")
    await form.locator("input#email").fill(email)
    await form.locator("input#password").fill(password)
    await click_submit(page, form.locator("button[type=submit]"))


async def log_in(page: Page, email: str, password: str) -> None:
    await visit(page, "/login")
    await fill_and_submit(page, "login-form", email, password)


async def session_cookie(page: Page) -> dict:
    cookies = [c for c in await page.context.cookies() if c["name"] == "bai_session"]
    assert len(cookies) == 1, f"expected one bai_session cookie, found {len(cookies)}"
    return dict(cookies[0])


async def assert_no_stack_trace(page: Page) -> None:
    text = await page.locator("body").inner_text()
    for marker in STACK_TRACE_MARKERS:
        assert marker not in text, f"page shows {marker!r}: {text[:500]}"


async def test_sign_up_verify_log_in_dashboard_log_out(browser, app_url, mailbox):
    email, password = new_email(), new_password()
    async with new_page(browser, app_url) as page:
        await visit(page, "/signup")
        await expect(page.locator("#signup-form")).to_be_visible()
        await screenshot(page, "auth-signup")
        await fill_and_submit(page, "signup-form", email, password)

        await expect(page).to_have_url(path_is("/login"))
        await expect(page.locator("#flash-notice")).to_contain_text("Check your inbox")

        # Not verified yet: the log-in is refused with a message saying why.
        await fill_and_submit(page, "login-form", email, password)
        await expect(page.locator("#flash-error")).to_contain_text("Confirm your email")
        assert not [c for c in await page.context.cookies() if c["name"] == "bai_session"]

        mail = mailbox.wait_for(email, "confirm")
        await visit(page, link_in(mail, "/api/auth/verify"))
        await expect(page).to_have_url(path_is("/login"))
        await expect(page.locator("#flash-notice")).to_contain_text("email address is confirmed")
        await screenshot(page, "auth-login")

        await fill_and_submit(page, "login-form", email, password)
        await expect(page).to_have_url(path_is("/dashboard"))
        await expect(page.locator("#overview-email")).to_have_text(email)
        await expect(page.locator("#user-email")).to_have_text(email)
        await screenshot(page, "auth-dashboard")

        cookie = await session_cookie(page)
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        assert cookie["path"] == "/"
        token = cookie["value"]
        assert token
        # The token works server-side while signed in ...
        me = httpx.get(f"{app_url}/api/auth/me", cookies={"bai_session": token}, timeout=10)
        assert me.status_code == 200
        assert me.json()["email"] == email

        await click_submit(page, page.locator("#logout-button"))
        await expect(page).to_have_url(path_is("/"))
        await expect(page.locator("#flash-notice")).to_contain_text("signed out")
        assert not [c for c in await page.context.cookies() if c["name"] == "bai_session"]

        # ... and is dead after log-out, even for someone who kept a copy of it.
        me = httpx.get(f"{app_url}/api/auth/me", cookies={"bai_session": token}, timeout=10)
        assert me.status_code == 401

        # The browser is signed out too: the dashboard sends it back to the log-in page.
        await page.goto("/dashboard")
        await expect(page).to_have_url(path_is("/login"))


async def test_signed_out_dashboard_redirects_to_login(browser, app_url):
    async with new_page(browser, app_url) as page:
        await page.goto("/dashboard")
        await expect(page).to_have_url(path_is("/login"))
        await expect(page.locator("#login-form")).to_be_visible()
        await expect(page.locator("#overview-email")).to_have_count(0)


async def test_wrong_password_and_taken_email_show_clear_errors(browser, app_url, make_account):
    account = await make_account(usd="0")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password + "-wrong")
        await expect(page).to_have_url(path_is("/login"))
        await expect(page.locator("#flash-error")).to_have_text("Wrong email or password.")
        await expect(page.locator("#login-form")).to_be_visible()
        await assert_no_stack_trace(page)
        assert not [c for c in await page.context.cookies() if c["name"] == "bai_session"]

        # A taken address is not revealed: the same answer as a new one (the owner is mailed).
        await visit(page, "/signup")
        await fill_and_submit(page, "signup-form", account.email, new_password())
        await expect(page).to_have_url(path_is("/login"))
        await expect(page.locator("#flash-notice")).to_contain_text("Check your inbox")
        await assert_no_stack_trace(page)


async def test_secrets_never_reach_the_browser(browser, app_url, app_server, make_account):
    from aiusage.db import session_scope
    from aiusage.services.accounts import get_by_email

    account = await make_account(usd="0")
    async with session_scope() as db:
        user = await get_by_email(db, account.email)
        assert user is not None
        password_hash = user.password_hash
    assert password_hash

    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await expect(page).to_have_url(path_is("/dashboard"))
        await expect(page.locator("#overview-email")).to_have_text(account.email)
        async with hydrated(page):
            await page.reload()
        await expect(page.locator("#user-email")).to_have_text(account.email)
        token = (await session_cookie(page))["value"]
        received, sent = frames(page).received, frames(page).sent
        storage = await page.evaluate(
            "() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])"
        )

    # The page really talked to the server over the websocket: the email came that way.
    assert any(account.email in frame for frame in received), "no state frame seen"
    secrets_ = {"session token": token, "password": account.password, "hash": password_hash}
    for what, secret in secrets_.items():
        assert not [f for f in received if secret in f], f"the {what} reached the browser"
        assert not [f for f in sent if secret in f], f"the browser sent the {what} over ws"
        assert secret not in storage, f"the {what} is readable by scripts"
    log = app_server.log_text()
    for what, secret in secrets_.items():
        assert secret not in log, f"the {what} is in the server log"
