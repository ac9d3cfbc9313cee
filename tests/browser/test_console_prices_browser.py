"""The console's Prices page as operators use it: a request for a model the table lacks is
queued, an admin prices it from the queue (prefilled with the genai-prices list price) and
the very next request is billed at that price; a price added, changed and removed leaves its
history; list prices are checked and accepted; the support role reads but cannot save; a
plain account never reaches the page."""

from __future__ import annotations

import re
import secrets

import anthropic
from playwright.async_api import Page, expect

from aiusage.db import session_scope
from aiusage.services import audit, price_admin
from tests.helpers.browser import TIMEOUT_MS, new_page, screenshot, sideways_overflow, visit
from tests.helpers.console_support import make_operator, sign_in_as
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

USER_KEY = "sk-ant-api03-" + "p" * 40 + "PrCe"
ROUTE = "/admin/prices"


def client(app_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)


def ask(app_url: str, key: str, model: str) -> None:
    client(app_url, key).messages.create(
        model=model, max_tokens=600, messages=[{"role": "user", "content": "Hi"}]
    )


async def open_console(page: Page, app_url: str, user_id: int) -> None:
    await sign_in_as(page, app_url, user_id)
    await visit(page, ROUTE)
    await expect(page.locator("#price-table")).to_be_visible()


async def audit_of(provider: str, model: str) -> list:
    async with session_scope() as db:
        return await audit.entries(
            db,
            audit.AuditFilter(
                action="price.", target_type="model_price", target_id=f"{provider}:{model}"
            ),
        )


async def stored(provider: str, model: str):
    async with session_scope() as db:
        return await price_admin.find(db, provider, model)


async def test_an_unknown_model_is_priced_from_the_queue_and_billed_so_at_once(
    browser, app_url, fake, make_account
):
    admin = await make_operator(make_account, "admin")
    user = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 1000
    fake.behavior.output_tokens = 500
    # Not in the table (the seed has 3.7 Sonnet, not 3.5); the package lists it undated.
    model = "claude-3-5-sonnet-20241022"
    ask(app_url, user.proxy_key, model)
    (first,) = await wait_usage(user.id, 1)
    assert first.priced_by_default

    async with new_page(browser, app_url) as page:
        await open_console(page, app_url, admin.id)
        entry = page.locator(f'.unknown-model-row[data-model="{model}"]')
        await expect(entry).to_have_count(1)
        await expect(entry.locator("td").nth(1)).to_have_text("1")  # requests
        await entry.locator(".price-it").click()

        dialog = page.locator("#price-dialog")
        await expect(page.locator("#price-prefill-note")).to_contain_text("genai-prices")
        # The name without its date prices every dated release; the list's prices are in.
        await expect(dialog.locator("#price-model")).to_have_value("claude-3-5-sonnet")
        for field, value in {
            "input": "3",
            "output": "15",
            "cache-write-5m": "3.75",
            "cache-write-1h": "6",
            "cache-read": "0.3",
            "web-search": "0.01",
            "long-threshold": "",
        }.items():
            await expect(dialog.locator(f"#price-{field}")).to_have_value(value)
        await expect(dialog.locator("#price-source")).to_have_value(
            re.compile(r"^genai-prices [\d.]+: https://www\.anthropic\.com/pricing")
        )
        await screenshot(page, "console-prices-queue-form")
        # The operator's own judgement wins over the list: a dearer input.
        await dialog.locator("#price-input").fill("4")
        await dialog.locator("#save-price").click()

        await expect(page.locator("#console-notice")).to_contain_text("next request")
        await expect(dialog).to_have_count(0)
        await expect(entry).to_have_count(0)  # priced: no longer unknown
        row = page.locator('.price-row[data-model="claude-3-5-sonnet"]')
        await expect(row.locator(".price-input")).to_have_text("4")
        await expect(row.locator(".price-output")).to_have_text("15")
        await expect(row.locator(".price-source")).to_contain_text("genai-prices")
        await expect(row).to_contain_text(admin.email)

    # The next request, at once (the proxy's 30-second price cache was invalidated).
    ask(app_url, user.proxy_key, model)
    second = (await wait_usage(user.id, 2))[1]
    assert not second.priced_by_default
    assert (second.input_tokens, second.output_tokens) == (1000, 500)
    assert second.cost_nano == (1000 * 4_000_000 + 500 * 15_000_000) // 1000  # $0.0115
    (entry_,) = await audit_of("anthropic", "claude-3-5-sonnet")
    assert (entry_.actor, entry_.action) == (admin.email, "price.set")
    assert entry_.reason.startswith("genai-prices ")


async def test_a_price_is_added_checked_changed_and_removed_with_its_history(
    browser, app_url, make_account
):
    admin = await make_operator(make_account, "admin")
    model = f"claude-console-{secrets.token_hex(3)}"
    async with new_page(browser, app_url) as page:
        await open_console(page, app_url, admin.id)
        await page.locator("#add-price").click()
        form = page.locator("#price-form")
        await form.locator("#price-model").fill(model)
        await form.locator("#price-input").fill("1e24")
        await form.locator("#price-output").fill("10")
        await form.locator("#save-price").click()
        error = page.locator("#price-form-error")
        await expect(error).to_contain_text("Input: give US dollars from 0 to 1,000,000")

        await form.locator("#price-input").fill("-2")
        await form.locator("#save-price").click()
        await expect(error).to_contain_text("Input: give US dollars")
        await form.locator("#price-input").fill("2")
        await form.locator("#price-long-input").fill("4")
        await form.locator("#save-price").click()
        await expect(error).to_contain_text("a long-prompt tier needs its threshold")
        await form.locator("#price-long-threshold").fill("200000")
        await form.locator("#price-long-output").fill("15")
        await form.locator("#price-max-output-tokens").fill("64000")
        await form.locator("#price-web-search").fill("0.01")
        await form.locator("#save-price").click()
        await expect(error).to_contain_text("Source: say where the price comes from.")
        assert await stored("anthropic", model) is None  # nothing written by a refusal

        await form.locator("#price-source").fill("https://example.com/our-contract")
        await form.locator("#save-price").click()
        await expect(page.locator("#console-notice")).to_be_visible()
        row = page.locator(f'.price-row[data-model="{model}"]')
        await expect(row.locator(".price-input")).to_have_text("2")
        await expect(row.locator(".price-cache_read")).to_have_text("2")  # empty: the input's
        await expect(row.locator(".price-max_output_tokens")).to_have_text("64,000")
        await expect(row).to_contain_text("> 200,000: 4 / 15")
        await expect(row.locator(".price-source")).to_have_text("https://example.com/our-contract")

        await row.locator(".edit-price").click()
        await expect(page.locator("#price-model-fixed")).to_have_text(model)
        await expect(form.locator("#price-long-threshold")).to_have_value("200000")
        await form.locator("#price-output").fill("12.5")
        await form.locator("#price-max-output-tokens").fill("")  # back to the default
        await form.locator("#price-source").fill("provider mail of 2026-12-01")
        await form.locator("#save-price").click()
        await expect(row.locator(".price-output")).to_have_text("12.5")
        await expect(row.locator(".price-max_output_tokens")).to_have_text("—")

        await row.locator(".price-history").click()
        entries = page.locator("#history-dialog .history-entry")
        await expect(entries).to_have_count(2)
        await expect(entries.nth(0)).to_contain_text(admin.email)
        await expect(entries.nth(0)).to_contain_text("Output 10 → 12.5")
        await expect(entries.nth(0)).to_contain_text("Max output (tokens) 64000 → —")
        await expect(entries.nth(0)).to_contain_text("provider mail of 2026-12-01")
        await expect(entries.nth(1)).to_contain_text("Input — → 2")
        await screenshot(page, "console-prices-history")
        await page.locator("#history-dialog").get_by_role("button", name="Close").click()

        await row.locator(".edit-price").click()
        await page.locator("#delete-price").click()
        await page.locator("#confirm-delete-price").click()
        await expect(page.locator("#console-notice")).to_contain_text("Removed")
        await expect(row).to_have_count(0)

    assert await stored("anthropic", model) is None
    actions = [e.action for e in await audit_of("anthropic", model)]
    assert actions == ["price.delete", "price.set", "price.set"]


async def test_list_prices_are_checked_and_one_is_accepted(browser, app_url, make_account):
    admin = await make_operator(make_account, "admin")
    async with new_page(browser, app_url) as page:
        await open_console(page, app_url, admin.id)
        await page.locator("#check-list-prices").click()
        card = page.locator("#proposals-card")
        await expect(card).to_contain_text("genai-prices")
        # Ours differs from the list: the difference is shown, nothing is changed.
        changed = card.locator('.proposal-row[data-model="gpt-4o"]')
        await expect(changed).to_contain_text("Changed")
        await expect(changed).to_contain_text("Web search (USD each) 0.025 → 0.01")
        new = card.locator('.proposal-row[data-model="claude-3-opus"]')
        await expect(new).to_contain_text("New")
        await expect(new).to_contain_text("Input 15 · Output 75")
        await expect(card.locator("#proposal-sources")).to_contain_text("anthropic.com/pricing")
        await screenshot(page, "console-prices-proposals")
        await new.locator(".accept-proposal").click()

        await expect(page.locator("#console-notice")).to_contain_text("Accepted")
        await expect(new).to_have_count(0)
        await expect(changed).to_have_count(1)  # only what was accepted
        row = page.locator('.price-row[data-model="claude-3-opus"]')
        await expect(row.locator(".price-input")).to_have_text("15")
        await expect(row.locator(".price-source")).to_contain_text("genai-prices")
    gpt4o = await stored("openai", "gpt-4o")
    assert gpt4o.web_search_call_micro == 25_000  # untouched
    (entry,) = await audit_of("anthropic", "claude-3-opus")
    assert entry.actor == admin.email and entry.reason.startswith("genai-prices ")


async def test_support_reads_the_prices_but_is_refused_on_saving(browser, app_url, make_account):
    support = await make_operator(make_account, "support")
    before = await stored("anthropic", "claude-haiku-4-5")
    async with new_page(browser, app_url) as page:
        await open_console(page, app_url, support.id)
        await expect(page.locator("#prices-read-only")).to_contain_text("only an admin")
        sonnet = page.locator('.price-row[data-model="claude-sonnet-4-5"]')
        await expect(sonnet.locator(".price-input")).to_have_text("3")
        await expect(sonnet).to_contain_text("> 200,000: 6 / 22.5")
        await expect(sonnet).to_contain_text("Seeded by migration 0002")
        await expect(page.locator("#add-price")).to_be_disabled()

        haiku = page.locator('.price-row[data-model="claude-haiku-4-5"]')
        await haiku.locator(".price-history").click()
        await expect(page.locator("#no-price-history")).to_be_visible()
        await page.locator("#history-dialog").get_by_role("button", name="Close").click()

        await haiku.locator(".edit-price").click()
        form = page.locator("#price-form")
        await expect(form.locator("#price-input")).to_have_value("1")
        await expect(page.locator("#price-read-only")).to_be_visible()
        save = form.locator("#save-price")
        await expect(save).to_be_disabled()
        # Past the disabled button (their own browser): the server refuses.
        await form.locator("#price-input").fill("0.01")
        await form.locator("#price-source").fill("cheaper for a friend")
        await save.evaluate("button => { button.disabled = false; }")
        await save.click()
        await expect(page.locator("#price-form-error")).to_have_text(
            "Your role does not allow this."
        )
        await page.keyboard.press("Escape")

        await page.locator("#check-list-prices").click()
        await expect(page.locator("#proposals-card .accept-proposal").first).to_be_disabled()
    after = await stored("anthropic", "claude-haiku-4-5")
    assert after.input_micro == before.input_micro == 1_000_000
    assert await audit_of("anthropic", "claude-haiku-4-5") == []


async def test_the_page_speaks_chinese(browser, app_url, make_account):
    admin = await make_operator(make_account, "admin")
    async with new_page(browser, app_url) as page:
        await open_console(page, app_url, admin.id)
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(page.locator("#unknown-models-card")).to_contain_text("未知模型")
        await expect(page.locator("#price-table")).to_contain_text("缓存读取")
        await expect(page.locator("#check-list-prices")).to_have_text("核对公开价格")
        await page.locator('.price-row[data-model="claude-sonnet-4-5"] .edit-price').click()
        await expect(page.locator("#price-dialog")).to_contain_text("长提示档（可选）")
        await screenshot(page, "console-prices-zh")
        await page.keyboard.press("Escape")
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="English").click()
        await expect(page.locator("#unknown-models-card")).to_contain_text("Unknown models")
        # On a phone the tables scroll within their cards; the page never scrolls sideways.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.locator("#check-list-prices").click()
        await expect(page.locator("#proposals-card")).to_be_visible()
        assert await sideways_overflow(page) == []


async def test_a_plain_account_cannot_reach_the_page(browser, app_url, make_account):
    user = await make_account()
    async with new_page(browser, app_url) as page:
        response = await page.goto(ROUTE)
        await expect(page).to_have_url(re.compile(r"/login/?\?next=/admin/prices$"))
        await sign_in_as(page, app_url, user.id)
        response = await page.goto(ROUTE)
        assert response is not None and response.status == 403
        await expect(page.locator("h1")).to_have_text("403 — Not for this account")
        await expect(page.locator("#price-table")).to_have_count(0)
