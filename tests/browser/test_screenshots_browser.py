"""Every page at a desktop (1440×900) and a phone (390×844) width, in both languages, with
data: a full-page screenshot of each lands in test-artifacts/screens/ (kept by CI as an
artifact, never committed), and on a phone no page may scroll sideways.

Signed-out pages are taken signed out; dashboard pages with an account that has credit, an
own provider key and a request, so tables and charts show something."""

from __future__ import annotations

import secrets

import openai
from playwright.async_api import Page

from tests.helpers.browser import (
    TIMEOUT_MS,
    hydrated,
    log_in,
    new_page,
    screenshot,
    sideways_overflow,
)
from tests.helpers.support import wait_usage

PUBLIC_PAGES = {
    "landing": "/",
    "pricing": "/pricing",
    "login": "/login",
    "signup": "/signup",
    "forgot-password": "/forgot-password",
    "privacy": "/privacy",
    "terms": "/terms",
    "not-found": "/no-such-page",
}
DASHBOARD_PAGES = {
    "overview": "/dashboard",
    "usage": "/dashboard/usage",
    "keys": "/dashboard/keys",
    "connect": "/dashboard/connect",
    "billing": "/dashboard/billing",
    "sign-in-methods": "/dashboard/sign-in",
    "settings": "/dashboard/settings",
    "support": "/dashboard/support",
}
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
LANGUAGES = {"en": "English", "zh": "简体中文"}


async def choose_language(page: Page, name: str) -> None:
    await page.locator("#language-switcher").click()
    await page.get_by_role("option", name=name).click()


async def shoot_all(page: Page, pages: dict[str, str], prefix: str) -> list[str]:
    problems: list[str] = []
    for lang, language in LANGUAGES.items():
        await page.set_viewport_size({"width": 1440, "height": 900})
        async with hydrated(page):
            await page.goto(pages[next(iter(pages))])
        await choose_language(page, language)
        for width_name, (width, height) in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                async with hydrated(page):
                    await page.goto(path)
                # Charts and late data settle before the picture.
                await page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
                await screenshot(page, f"screens/{prefix}-{name}-{width_name}-{lang}")
                if width_name == "phone" and (out := await sideways_overflow(page)):
                    problems.append(f"{lang} {path} scrolls sideways on a phone: {out}")
    return problems


async def test_every_page_at_both_widths_in_both_languages(browser, app_url, make_account):
    problems: list[str] = []
    async with new_page(browser, app_url) as page:
        problems += await shoot_all(page, PUBLIC_PAGES, "public")

    provider_key = "sk-ant-api03-" + secrets.token_urlsafe(30).replace("-", "x") + "Wxyz"
    account = await make_account(usd="25", provider_keys={"anthropic": provider_key})
    client = openai.AsyncOpenAI(
        api_key=account.proxy_key, base_url=f"{app_url}/api/v1", max_retries=0
    )
    try:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "screenshots"}]
        )
    finally:
        await client.close()
    await wait_usage(account.id, 1)
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        problems += await shoot_all(page, DASHBOARD_PAGES, "dashboard")
    assert not problems, "\n".join(problems)
