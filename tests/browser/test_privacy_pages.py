"""The privacy policy and terms, in both languages, say what the running configuration does:
the session cookie's name, the retention periods, the contact address, the effective date."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.browser.test_i18n import choose_language
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot

expect.set_options(timeout=TIMEOUT_MS)


def test_the_test_server_runs_with_non_default_periods():
    from aiusage.config import Settings, get_settings

    settings, defaults = get_settings(), Settings.model_fields
    assert settings.usage_retention_days == 400 != defaults["usage_retention_days"].default
    assert settings.support_retention_days == 700 != defaults["support_retention_days"].default
    assert settings.closed_account_grace_days == 45 != defaults["closed_account_grace_days"].default


async def test_privacy_policy_in_both_languages(browser, app_url):
    from aiusage.config import get_settings

    settings = get_settings()
    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            await page.goto("/privacy")
        policy = page.locator("#legal-privacy")
        await expect(page.locator("#legal-title")).to_have_text("Privacy policy")
        await expect(page.locator("#legal-effective")).to_contain_text(
            settings.policy_effective_date
        )
        for text in (
            "bai_session",
            f"{settings.usage_retention_days} days (about 13 months)",
            f"purged {settings.closed_account_grace_days} days later",
            f"{settings.support_retention_days} days (about 23 months)",
            settings.contact_email,
            "Stripe",
            "Anthropic and OpenAI",
            "AES-256-GCM",
            "Do Not Track",
        ):
            await expect(policy).to_contain_text(text)
        for default in ("396 days", "90 days", "730 days"):
            await expect(policy).not_to_contain_text(default)
        await screenshot(page, "privacy-en")

        # The Chinese version, by its link.
        async with hydrated(page):
            await page.locator("#legal-other-language").click()
        await expect(page).to_have_url(f"{app_url}/zh/privacy")
        policy = page.locator("#legal-privacy")
        await expect(page.locator("#legal-title")).to_have_text("隐私政策")
        for text in (
            "bai_session",
            f"{settings.usage_retention_days} 天（约 13 个月）",
            f"{settings.closed_account_grace_days} 天后清除",
            f"{settings.support_retention_days} 天（约 23 个月）",
            settings.contact_email,
            settings.policy_effective_date,
            "Stripe",
        ):
            await expect(policy).to_contain_text(text)
        await expect(policy).to_have_attribute("lang", "zh-Hans")
        await screenshot(page, "privacy-zh")

        # The terms are linked from the policy, in the same language.
        async with hydrated(page):
            await page.locator("#legal-other-document").click()
        await expect(page).to_have_url(f"{app_url}/zh/terms")
        await expect(page.locator("#legal-title")).to_have_text("服务条款")
        await screenshot(page, "terms-zh")


async def test_both_versions_reachable_whatever_the_switcher_says(browser, app_url):
    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            await page.goto("/")
        await choose_language(page, "简体中文")
        # The footer follows the page language ...
        async with hydrated(page):
            await page.locator("#footer-terms").click()
        await expect(page).to_have_url(f"{app_url}/zh/terms")
        # ... and the English documents still open by URL, in English.
        async with hydrated(page):
            await page.goto("/terms")
        await expect(page.locator("#legal-title")).to_have_text("Terms of service")
        await expect(page.locator("#legal-terms")).to_contain_text("Acceptable use")
        async with hydrated(page):
            await page.goto("/privacy")
        await expect(page.locator("#legal-title")).to_have_text("Privacy policy")


def test_legal_pages_are_served_to_plain_http(app_url):
    # Search engines and curl get the documents too (server-rendered, no script needed).
    for path in ("/privacy", "/terms", "/zh/privacy", "/zh/terms"):
        assert httpx.get(app_url + path, timeout=10, follow_redirects=True).status_code == 200
