"""The dashboard as users judge it (issue 16): what things cost, the usage page's filters in
the address, totals per model and key, the request detail, navigation (current page, icons,
the phone drawer), the first-five-minutes checklist, one credit banner at a time, Copy
feedback, the document language, and no flash of English or of "no requests" while loading."""

from __future__ import annotations

import re
import secrets

import anthropic
import openai
from playwright.async_api import Page, expect

from tests.helpers.browser import TIMEOUT_MS, hydrated, log_in, new_page, screenshot, visit
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

PROVIDER_KEY = "sk-ant-api03-" + secrets.token_urlsafe(30).replace("-", "x") + "Wxyz"
PROMPT = "Hello from the request detail test"

# Records, from before the first script of every page, whether an element or a text was ever
# in the document: what a user would have seen flash by before the real data.
SEEN_RECORDER = """
window.__seen = {};
const watch = () => {
  const text = document.body ? document.body.innerText : "";
  for (const [name, test] of Object.entries(window.__watch || {})) {
    if (!window.__seen[name] && test(text)) window.__seen[name] = true;
  }
};
window.__watch = {
  recentEmpty: () => !!document.getElementById("recent-empty"),
  usageEmpty: () => !!document.getElementById("usage-table-empty"),
  englishNav: (text) => /\\bLog out\\b|\\bOverview\\b/.test(text),
};
new MutationObserver(watch).observe(document, {childList: true, subtree: true,
                                              characterData: true});
"""


def range_choice(page: Page, name: str):
    return page.locator("#range-picker").get_by_role("radio", name=name)


async def sdk_call(app_url: str, key: str) -> None:
    client = anthropic.AsyncAnthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    try:
        await client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": PROMPT}],
        )
    finally:
        await client.close()


async def platform_call(app_url: str, key: str) -> None:
    """A request on the platform's OpenAI key: paid from credit, provider cost plus markup."""
    client = openai.AsyncOpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0)
    try:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
    finally:
        await client.close()


async def test_costs_filters_totals_and_request_detail(browser, app_url, make_account):
    from aiusage.state.dashboard import usd, usd_fine

    account = await make_account(usd="5", provider_keys={"anthropic": PROVIDER_KEY})
    await sdk_call(app_url, account.proxy_key)
    (row,) = await wait_usage(account.id, 1)
    fee = row.charged_nano  # on the user's own key, the whole charge is our fee
    assert row.key_source == "byok" and 0 < fee < row.cost_nano

    async with new_page(browser, app_url) as page:
        await page.add_init_script(SEEN_RECORDER)
        await log_in(page, account.email, account.password)

        # The overview says what the provider's price was and what our fee was, labelled.
        await expect(page.locator("#stat-cost-30d")).to_have_text(usd(row.cost_nano))
        await expect(page.locator("#stat-fee-30d")).to_have_text(usd(fee))
        await expect(page.locator("#stat-30d")).to_have_text(usd(row.charged_nano))
        recent = page.locator("#recent-table .usage-row")
        await expect(recent.locator(".col-provider_cost")).to_have_text(usd_fine(row.cost_nano))
        await expect(recent.locator(".col-fee")).to_have_text(usd_fine(fee))
        await expect(recent.locator(".col-charged")).to_have_text(usd_fine(row.charged_nano))
        # Loaded with a request: "no requests yet" never showed, not even for a moment.
        assert not await page.evaluate("window.__seen.recentEmpty || false")

        # Usage page: the totals, per model and per key.
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#total-cost")).to_have_text(usd(row.cost_nano))
        await expect(page.locator("#total-fee")).to_have_text(usd(fee))
        by_model = page.locator("#by-model-table .group-row")
        await expect(by_model).to_have_count(1)
        await expect(by_model).to_contain_text("claude-sonnet-4-5")
        await expect(by_model).to_contain_text(usd(fee))
        await expect(by_model).to_contain_text("0.00%")
        await page.locator("#tab-by-key").click()
        await expect(page.locator("#by-key-table .group-row")).to_contain_text("test key")
        assert not await page.evaluate("window.__seen.usageEmpty || false")

        # The request's detail: metadata, the cost in three parts, never the content.
        await page.locator("#usage-table .usage-row").click()
        detail = page.locator("#request-detail")
        await expect(detail).to_be_visible()
        await expect(page.locator("#detail-request_id")).to_have_text(row.request_id)
        await expect(page.locator("#detail-model")).to_have_text("claude-sonnet-4-5")
        await expect(page.locator("#detail-input")).to_have_text(f"{row.input_tokens:,}")
        await expect(page.locator("#detail-provider_cost")).to_have_text(usd_fine(row.cost_nano))
        await expect(page.locator("#detail-fee")).to_have_text(usd_fine(fee))
        await expect(page.locator("#detail-charged")).to_have_text(usd_fine(row.charged_nano))
        await expect(page.locator("#detail-provider_key")).to_contain_text(PROVIDER_KEY[-4:])
        await expect(page.locator("#detail-user_agent")).to_contain_text("Anthropic")
        await expect(page.locator("#detail-paid-with")).to_contain_text("own provider key")
        await expect(detail).not_to_contain_text(PROMPT)
        assert PROVIDER_KEY[:-4] not in await detail.inner_text()
        await screenshot(page, "dashboard-usage-detail")
        await page.locator("#detail-close").click()
        await expect(detail).to_have_count(0)

        # Filters live in the address: shareable, and a reload keeps them.
        await range_choice(page, "7 days").click()
        await expect(page).to_have_url(re.compile(r"[?&]range=7d"))
        await page.locator("#filter-model").click()
        await page.get_by_role("option", name="claude-sonnet-4-5").click()
        await expect(page).to_have_url(re.compile(r"[?&]model=claude-sonnet-4-5"))
        async with hydrated(page):
            await page.reload()
        await expect(page.locator("#filter-model")).to_have_text("claude-sonnet-4-5")
        await expect(range_choice(page, "7 days")).to_have_attribute("data-state", "on")
        await expect(page.locator("#usage-table .usage-row")).to_have_count(1)
        # Another model in a shared address: the filter is applied, so nothing matches.
        await visit(page, "/dashboard/usage?range=today&model=gpt-nothing")
        await expect(page.locator("#usage-table-empty")).to_be_visible()
        await expect(range_choice(page, "Today")).to_have_attribute("data-state", "on")
        # An address typed wrong falls back to the defaults instead of failing.
        await visit(page, "/dashboard/usage?range=forever&key=abc")
        await expect(range_choice(page, "30 days")).to_have_attribute("data-state", "on")
        await expect(page.locator("#usage-table .usage-row")).to_have_count(1)


async def test_request_detail_is_the_owners_only(make_account, app_url):
    """The panel's query is scoped by the signed-in user: another user's id finds nothing."""
    from aiusage.db import session_scope
    from aiusage.services import usage_breakdown

    owner = await make_account(usd="5")
    other = await make_account(usd="5")
    await platform_call(app_url, owner.proxy_key)
    (row,) = await wait_usage(owner.id, 1)
    async with session_scope() as db:
        assert await usage_breakdown.request_detail(db, other.id, row.id) is None
        mine = await usage_breakdown.request_detail(db, owner.id, row.id)
    assert mine is not None and mine.request_id == row.request_id
    assert mine.key_source == "platform" and mine.fee_nano == row.charged_nano - row.cost_nano


async def test_navigation_current_page_icons_and_phone_drawer(browser, app_url, make_account):
    account = await make_account(usd="5")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/usage")
        current = page.locator("#dashboard-nav [aria-current=page]")
        await expect(current).to_have_count(1)
        await expect(current).to_have_text("Usage")
        await expect(current).to_have_attribute("href", "/dashboard/usage")
        icons = await page.locator("#dashboard-nav svg").evaluate_all(
            "els => els.map(e => [...e.classList].find(c => c.startsWith('lucide-')))"
        )
        assert len(icons) == 8 and len(set(icons)) == 8, icons

        # A phone: the content comes first, the navigation waits in a drawer.
        await page.set_viewport_size({"width": 390, "height": 844})
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#dashboard-nav")).to_be_hidden()
        heading = await page.get_by_role("heading", name="Usage", exact=True).bounding_box()
        assert heading is not None and heading["y"] < 250, heading
        await page.locator("#nav-menu-button").click()
        drawer = page.locator("#dashboard-nav-drawer")
        await expect(drawer).to_be_visible()
        await expect(drawer.locator("[aria-current=page]")).to_have_text("Usage")
        await screenshot(page, "dashboard-nav-drawer-phone")
        async with hydrated(page):
            await drawer.get_by_text("Keys", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/dashboard/keys/?$"))
        await expect(drawer).to_be_hidden()

        # Copy buttons say so.
        await page.set_viewport_size({"width": 1280, "height": 800})
        await visit(page, "/dashboard/keys")
        await page.locator("#key-name").fill("copy test")
        await page.locator("#create-key").click()
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        copy = page.locator("#copy-new-key")
        await expect(copy).to_have_text("Copy", use_inner_text=True)
        await copy.click()
        await expect(copy).to_have_text("Copied", use_inner_text=True)
        new_key = await page.locator("#new-key-value").input_value()
        assert await page.evaluate("navigator.clipboard.readText()") == new_key
        await expect(copy).to_have_text("Copy", use_inner_text=True, timeout=4000)

        # A saved action says so in a toast too, wherever the page is scrolled.
        await page.locator("#dismiss-new-key").click()
        await page.locator(".toggle-key").first.click()
        await expect(page.locator("#keys-notice")).to_contain_text("disabled")
        await expect(page.locator("[data-sonner-toast]")).to_contain_text("The key is disabled")


async def test_chinese_has_no_english_flash_and_sets_the_document_language(
    browser, app_url, make_account
):
    account = await make_account(usd="5")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(page.locator("#dashboard-nav [aria-current=page]")).to_have_text("概览")
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        # A fresh load of a Chinese page never shows the English one first.
        await page.add_init_script(SEEN_RECORDER)
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#dashboard-nav [aria-current=page]")).to_have_text("用量")
        assert not await page.evaluate("window.__seen.englishNav || false")
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"


async def test_first_five_minutes_checklist_and_one_credit_banner(browser, app_url, make_account):
    from aiusage.db import session_scope
    from aiusage.money import usd_to_nano
    from aiusage.services import billing

    account = await make_account(usd="0")  # with a proxy key, no credit, no request
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        checklist = page.locator("#onboarding")
        await expect(checklist).to_be_visible()
        await expect(page.locator("#step-payment")).to_have_attribute("data-done", "false")
        await expect(page.locator("#step-key")).to_have_attribute("data-done", "true")
        await expect(page.locator("#step-request")).to_have_attribute("data-done", "false")
        # No credit: the call to add credit, and not the low-balance banner beside it.
        await expect(page.locator("#cta-credit")).to_be_visible()
        await expect(page.locator("#low-balance-banner")).to_have_count(0)
        await screenshot(page, "dashboard-onboarding")

        async with session_scope() as db:
            await billing.grant(db, account.id, usd_to_nano("5"), "test credit")
        await visit(page, "/dashboard")
        await expect(page.locator("#step-payment")).to_have_attribute("data-done", "true")
        await platform_call(app_url, account.proxy_key)
        await wait_usage(account.id, 1)
        await visit(page, "/dashboard")
        await expect(page.locator("#stat-requests")).to_have_text("1")
        await expect(checklist).to_have_count(0)  # all done: the checklist steps aside
