"""The public face as a visitor meets it (issue 16): the landing page names the tools, says how
billing works with the configured fee and markup and links to the pricing page; the pricing
page lists every model of the price table at its price per million tokens; the Chinese legal
documents come with Chinese navigation; an unknown address shows the styled 404 page (with
status 404); the icons and the social image are served."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.browser.test_dashboard_browser import sideways_overflow
from tests.browser.test_i18n import choose_language
from tests.helpers.browser import TIMEOUT_MS, hydrated, new_page, screenshot
from tests.helpers.support import ARTIFACTS

expect.set_options(timeout=TIMEOUT_MS)

TOOLS = ("Claude Code", "Codex", "Cursor", "Anthropic SDK", "OpenAI SDK", "curl")


def configured_percentages() -> tuple[str, str]:
    """The fee and markup the server runs with (the same environment as this process)."""
    from aiusage.services.price_list import fees, percent

    current = fees()
    return percent(current.service_fee_bps), percent(current.markup_bps)


async def visit(page: Page, path: str) -> None:
    async with hydrated(page):
        await page.goto(path)


async def test_landing_names_the_tools_the_billing_and_links_to_pricing(browser, app_url):
    fee, markup = configured_percentages()
    async with new_page(browser, app_url) as page:
        await visit(page, "/")
        await expect(page.locator("#landing-title")).to_have_text(
            "One gateway for your AI model APIs"
        )
        tools = page.locator("#landing-tools")
        for name in TOOLS:
            await expect(tools.get_by_role("heading", name=name, exact=True)).to_be_visible()
        await expect(tools).to_contain_text(f"{app_url}/api/v1")
        await expect(page.locator("#landing-byok")).to_contain_text(f"{fee} service fee")
        await expect(page.locator("#landing-credit")).to_contain_text(f"List price + {markup}")
        await expect(page.locator("#landing-privacy")).to_contain_text("never stored")
        await expect(page.locator("#landing-privacy-link")).to_have_attribute("href", "/privacy")
        # The picture of the dashboard is there and loaded.
        image = page.locator("#landing-dashboard-image")
        await image.scroll_into_view_if_needed()
        await expect(image).to_have_js_property("complete", True)
        assert await image.evaluate("img => img.naturalWidth") > 600
        await screenshot(page, "landing-en")

        for link in ("#landing-pricing", "#landing-pricing-link", "#footer-pricing"):
            await expect(page.locator(link)).to_have_attribute("href", "/pricing")
        async with hydrated(page):
            await page.locator("#landing-pricing").click()
        await expect(page).to_have_url(re.compile(r"/pricing/?$"))
        await expect(page.locator("#pricing-title")).to_have_text("Pricing")

        await visit(page, "/")
        await choose_language(page, "简体中文")
        await expect(page.locator("#landing-title")).to_contain_text("一个网关")
        await expect(page.locator("#landing-byok")).to_contain_text(f"{fee} 服务费")
        await expect(page.locator("#landing-credit")).to_contain_text(f"标价 + {markup}")
        await expect(page.locator("#landing-privacy-link")).to_have_attribute("href", "/zh/privacy")
        await expect(page.locator("#footer-pricing")).to_have_text("价格")
        await screenshot(page, "landing-zh")


async def price_table() -> list:
    from aiusage.db import session_scope
    from aiusage.services import pricing

    async with session_scope() as db:
        return await pricing.list_prices(db)


async def test_pricing_lists_every_model_at_its_price_per_million(browser, app_url):
    from aiusage.services.price_list import model_prices, per_mtok

    fee, markup = configured_percentages()
    rows = await price_table()
    assert rows, "the migrations seed the price table"
    sonnet = next(model_prices(r) for r in rows if r.model == "claude-sonnet-4-5")
    gpt = next(model_prices(r) for r in rows if r.provider == "openai")
    async with new_page(browser, app_url) as page:
        await visit(page, "/pricing")
        await expect(page.locator("#pricing-fee-figure")).to_have_text(f"{fee} service fee")
        await expect(page.locator("#pricing-markup-figure")).to_have_text(f"List price + {markup}")
        await expect(page.locator("#pricing-example")).to_contain_text("$1.00")
        # Every model of the table, under its provider.
        await expect(page.locator("tr.price-model")).to_have_count(len(rows))
        anthropic = page.locator("#pricing-anthropic")
        row = anthropic.locator('tr[data-model="claude-sonnet-4-5"]')
        for column in ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read"):
            expected = per_mtok(getattr(sonnet.rates, column), "en")
            await expect(row.locator(f".price-{column}")).to_have_text(expected)
        await expect(row.locator(".price-input")).to_have_text("$3.00")
        # Its long-prompt tier follows it.
        assert sonnet.long_rates is not None
        tier = row.locator("xpath=following-sibling::tr[1]")
        await expect(tier).to_have_class(re.compile("price-tier"))
        await expect(tier).to_contain_text("prompts over 200K tokens")
        await expect(tier.locator(".price-input")).to_have_text(
            per_mtok(sonnet.long_rates.input, "en")
        )
        openai_row = page.locator("#pricing-openai").locator(f'tr[data-model="{gpt.model}"]')
        await expect(openai_row.locator(".price-output")).to_have_text(
            per_mtok(gpt.rates.output, "en")
        )
        await expect(page.locator("#pricing-terms")).to_have_attribute("href", "/terms")
        await screenshot(page, "pricing-en")

        await choose_language(page, "简体中文")
        await expect(page.locator("#pricing-title")).to_have_text("价格")
        await expect(row.locator(".price-input")).to_have_text("US$3.00")
        await expect(tier).to_contain_text("提示超过 20万 token")
        await expect(page.locator("#pricing-fee-figure")).to_have_text(f"{fee} 服务费")
        await screenshot(page, "pricing-zh")


async def test_the_terms_link_the_pricing_page(browser, app_url):
    fee, markup = configured_percentages()
    async with new_page(browser, app_url) as page:
        await visit(page, "/terms")
        note = page.locator("#legal-pricing").locator("xpath=..")
        await expect(note).to_contain_text(f"The service fee is {fee} and the markup {markup}")
        async with hydrated(page):
            await page.locator("#legal-pricing").click()
        await expect(page.locator("#pricing-title")).to_be_visible()


async def test_chinese_documents_come_with_chinese_navigation(browser, app_url):
    async with new_page(browser, app_url) as page:  # an English browser, first visit
        for doc, title in (("privacy", "隐私政策"), ("terms", "服务条款")):
            await visit(page, f"/zh/{doc}")
            await expect(page.locator("#legal-title")).to_have_text(title)
            await expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()
            await expect(page.get_by_role("link", name="注册", exact=True)).to_be_visible()
            await expect(page.locator("#footer-privacy")).to_have_text("隐私政策")
            await expect(page.locator("#footer-terms")).to_have_attribute("href", "/zh/terms")
            await expect(page.get_by_role("link", name="Log in", exact=True)).to_have_count(0)
        await screenshot(page, "terms-zh-navigation")
        # The English document, English around it.
        await visit(page, "/privacy")
        await expect(page.locator("#legal-title")).to_have_text("Privacy policy")
        await expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
        await expect(page.locator("#footer-privacy")).to_have_text("Privacy")
        # Switching the language on a document opens it in that language.
        await choose_language(page, "简体中文")
        await expect(page).to_have_url(re.compile(r"/zh/privacy/?$"))
        await expect(page.locator("#legal-title")).to_have_text("隐私政策")
        await expect(page.locator("#footer-terms")).to_have_text("服务条款")


async def test_public_pages_fit_a_phone(browser, app_url):
    context = await browser.new_context(
        base_url=app_url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    try:
        page = await context.new_page()
        for path, name in (("/", "landing"), ("/pricing", "pricing"), ("/no-such", "not-found")):
            await page.goto(path)
            await expect(page.locator("#footer-pricing")).to_be_visible()
            await page.wait_for_timeout(500)  # the price table arrives after the page
            assert await sideways_overflow(page) == [], f"{path} scrolls sideways on a phone"
            await page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    finally:
        await context.close()


def test_an_unknown_address_answers_404(app_url):
    """The production server answers an unknown path with status 404 and Reflex's 404.html:
    the app's shell (Reflex copies its SPA fallback there at build time, so the page itself
    is drawn by the browser; the next test sees it)."""
    for path in ("/no-such-page", "/dashboard/no-such-page", "/zh/nothing"):
        reply = httpx.get(f"{app_url}{path}", timeout=10)
        assert reply.status_code == 404, path
        assert "text/html" in reply.headers["content-type"]
    assert httpx.get(f"{app_url}/pricing", timeout=10, follow_redirects=True).status_code == 200


async def test_the_404_page_in_both_languages(browser, app_url):
    async with new_page(browser, app_url) as page:
        async with hydrated(page):
            reply = await page.goto("/no-such-page")
        assert reply is not None and reply.status == 404
        await expect(page.locator("#not-found-title")).to_have_text("Page not found")
        await expect(page.locator("#not-found-home")).to_have_attribute("href", "/")
        await expect(page.locator("#footer-pricing")).to_be_visible()
        await screenshot(page, "not-found-en")
        await choose_language(page, "简体中文")
        await expect(page.locator("#not-found-title")).to_have_text("找不到该页面")
        await screenshot(page, "not-found-zh")
        async with hydrated(page):
            await page.locator("#not-found-home").click()
        await expect(page.locator("#landing-title")).to_contain_text("一个网关")


def test_icons_and_social_image_are_served(app_url):
    icon = httpx.get(f"{app_url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = httpx.get(f"{app_url}/favicon.svg", timeout=10)
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert httpx.get(f"{app_url}/logo.svg", timeout=10).status_code == 200
    for name in ("og-image.png", "dashboard.png"):
        image = httpx.get(f"{app_url}/{name}", timeout=10)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(image.content) < 200_000, name
    # The social preview of the landing page: an absolute URL of the 1200×630 image.
    html = httpx.get(f"{app_url}/", timeout=10).text
    assert re.search(
        rf'<meta[^>]*property="og:image"[^>]*content="{re.escape(app_url)}/og-image.png"', html
    ) or re.search(
        rf'<meta[^>]*content="{re.escape(app_url)}/og-image.png"[^>]*property="og:image"', html
    ), "no og:image meta tag"
