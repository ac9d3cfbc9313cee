"""Signing in as a user judges it (issue 16): a signed-out visit to a dashboard page comes back
to that page after the log-in — with a password (after a wrong one, whose address the form
keeps), with a two-factor code, or with Google — and never to another site."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.helpers.browser import TIMEOUT_MS, frames, hydrated, new_page, screenshot

expect.set_options(timeout=TIMEOUT_MS)


def exactly(app_url: str, path_and_query: str) -> re.Pattern[str]:
    """The page's URL is this path and query (the static server may add a trailing slash)."""
    path, _, query = path_and_query.partition("?")
    tail = re.escape("?" + query) if query else ""
    return re.compile("^" + re.escape(app_url + path.rstrip("/")) + "/?" + tail + "$")


async def submit(page: Page, form_id: str) -> None:
    async with hydrated(page):
        await page.locator(f"#{form_id} button[type=submit]").click()


async def signed_out_visit(page: Page, app_url: str, path: str) -> None:
    """A signed-out visit to `path` lands on the log-in page, which knows the way back."""
    async with hydrated(page):
        await page.goto(path)
    await expect(page).to_have_url(exactly(app_url, f"/login?next={quote(path, safe='')}"))
    await expect(page.locator("#login-form input[name=next]")).to_have_value(path)


async def cookie(page: Page, name: str) -> dict | None:
    found = [c for c in await page.context.cookies() if c["name"] == name]
    return dict(found[0]) if found else None


async def test_back_to_the_page_asked_for_after_a_wrong_then_right_password(
    browser, app_url, make_account
):
    account = await make_account(usd="1")
    asked_for = "/dashboard/usage?range=7d"
    wrong = account.password + "-wrong"
    async with new_page(browser, app_url) as page:
        await signed_out_visit(page, app_url, asked_for)
        form = page.locator("#login-form")
        await form.locator("input#email").fill(account.email)
        await form.locator("input#password").fill(wrong)
        await submit(page, "login-form")

        # Refused: the message, the address still typed in, the password not, the way back kept.
        await expect(page.locator("#flash-error")).to_have_text("Wrong email or password.")
        await expect(form.locator("input#email")).to_have_value(account.email)
        await expect(form.locator("input#password")).to_have_value("")
        await expect(form.locator("input#password")).to_be_focused()
        await expect(form.locator("input[name=next]")).to_have_value(asked_for)
        url = page.url
        assert parse_qs(urlsplit(url).query) == {
            "error": ["invalid_credentials"],
            "next": [asked_for],
        }
        assert account.email not in url and wrong not in url
        kept = await cookie(page, "bai_login_email")
        assert kept and kept["httpOnly"] and kept["sameSite"] == "Lax"
        assert wrong not in str(await page.context.cookies())
        scripts_see = await page.evaluate(
            "() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])"
        )
        assert account.email not in scripts_see and wrong not in scripts_see
        await screenshot(page, "login-kept-email")

        await form.locator("input#password").fill(account.password)
        await submit(page, "login-form")
        await expect(page).to_have_url(exactly(app_url, asked_for))
        await expect(page.locator("#range-picker")).to_be_visible()
        await expect(page.locator("#user-email")).to_have_text(account.email)
        assert await cookie(page, "bai_login_email") is None  # signed in: forgotten
        recorded = frames(page)
    for frame in recorded.received + recorded.sent:
        assert wrong not in frame and account.password not in frame


async def test_two_factor_sign_in_comes_back_too(browser, app_url, make_account):
    from tests.browser.test_two_factor import code_at, enrol

    account = await make_account(usd="1")
    secret, _ = await enrol(account.id)
    async with new_page(browser, app_url) as page:
        await signed_out_visit(page, app_url, "/dashboard/keys")
        form = page.locator("#login-form")
        await form.locator("input#email").fill(account.email)
        await form.locator("input#password").fill(account.password)
        await submit(page, "login-form")
        await expect(page).to_have_url(exactly(app_url, "/login/two-factor"))
        await page.locator("#two-factor-form input#code").fill(code_at(secret, 1))
        await submit(page, "two-factor-form")
        await expect(page).to_have_url(exactly(app_url, "/dashboard/keys"))
        await expect(page.locator("#user-email")).to_have_text(account.email)
        assert await cookie(page, "bai_2fa_next") is None


async def test_google_sign_in_comes_back_too(browser, app_url, oidc_provider):
    import secrets

    from aiusage.db import session_scope
    from aiusage.services import accounts

    oidc_provider.reset()
    address = f"return-{secrets.token_hex(6)}@example.com"
    async with session_scope() as db:
        await accounts.create_user(db, address, "pw-" + secrets.token_urlsafe(9), verified=True)
    try:
        async with new_page(browser, app_url) as page:
            await signed_out_visit(page, app_url, "/dashboard/support")
            oidc_provider.next_login(str(secrets.randbelow(10**20)), address)
            async with hydrated(page):
                await page.locator("#google-sign-in").click()  # → provider → callback
            await expect(page).to_have_url(exactly(app_url, "/dashboard/support"))
            await expect(page.locator("#user-email")).to_have_text(address)
    finally:
        oidc_provider.reset()


@pytest.mark.parametrize(
    "unsafe", ["//evil.example/dashboard", "https://evil.example/", "/\\evil.example"]
)
async def test_another_site_is_never_the_way_back(browser, app_url, make_account, unsafe):
    account = await make_account(usd="1")
    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            await page.goto(f"/login?next={quote(unsafe, safe='')}")
        form = page.locator("#login-form")
        await expect(form.locator("input[name=next]")).to_have_value("")
        # Even a next field changed in the page is checked again by the server.
        await form.locator("input[name=next]").evaluate("(el, v) => { el.value = v; }", unsafe)
        await form.locator("input#email").fill(account.email)
        await form.locator("input#password").fill(account.password)
        await submit(page, "login-form")
        await expect(page).to_have_url(exactly(app_url, "/dashboard"))


async def test_the_routes_check_the_way_back(http, make_account):
    """Over plain HTTP, what the browser is told: same-site paths only, also after a refusal
    (where the address is kept in an HttpOnly cookie, the password nowhere)."""
    account = await make_account(usd="1")

    def log_in(password: str, next_path: str):
        fields = {"email": account.email, "password": password, "next": next_path}
        answer = http.post("/api/auth/login", data=fields, follow_redirects=False)
        http.cookies.clear()
        assert answer.status_code == 303, answer.text
        return answer

    for unsafe in ("https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil"):
        assert log_in(account.password, unsafe).headers["location"] == "/dashboard"
    assert log_in(account.password, "/dashboard/keys").headers["location"] == "/dashboard/keys"

    wrong = account.password + "-wrong"
    refused = log_in(wrong, "/dashboard/keys")
    assert refused.headers["location"] == (
        "/login?error=invalid_credentials&next=%2Fdashboard%2Fkeys"
    )
    (kept,) = [c for c in refused.headers.get_list("set-cookie") if "bai_login_email=" in c]
    assert "httponly" in kept.lower() and "max-age=300" in kept.lower()
    assert wrong not in str(refused.headers) and "bai_session=" not in str(refused.headers)
    assert log_in(wrong, "//evil.example").headers["location"] == (
        "/login?error=invalid_credentials"
    )
