"""Proxy keys with rules, managed in a real chromium against the real server: create a key
with a daily budget, a model allow-list, a network allow-list and an expiry date; see its
rules on its row; edit it (rename, another budget); disable it (the proxy refuses it with
401) and enable it again (requests work against the fake upstream); revoke it and find it
under "Revoked and expired". Then a tampering user: the edit and enable/disable events
carrying another user's key id change nothing and show nothing of it."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, date, datetime, timedelta

import anthropic
import pytest
from playwright.async_api import Page, expect

from tests.helpers.browser import (
    TIMEOUT_MS,
    frames,
    hydrated,
    log_in,
    new_page,
    screenshot,
    sideways_overflow,
    tampering,
)
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

KEY_CACHE_WAIT = 1.3  # the proxy authenticates from a 1 s cache
ALLOWED_MODEL = "claude-haiku-4-5"
OTHER_MODEL = "claude-sonnet-4-5"


async def open_keys_page(page: Page) -> None:
    async with hydrated(page):
        await page.goto("/dashboard/keys")


async def call(app_url: str, key: str, model: str = ALLOWED_MODEL) -> anthropic.types.Message:
    client = anthropic.AsyncAnthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    try:
        return await client.messages.create(
            model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await client.close()


async def stored_key(key_id: int):
    from aiusage.db import session_scope
    from aiusage.models import ProxyKey

    async with session_scope() as db:
        return await db.get(ProxyKey, key_id)


async def choose(page: Page, trigger_id: str, option: str) -> None:
    await page.locator(f"#{trigger_id}").click()
    await page.get_by_role("option", name=option, exact=True).click()
    await expect(page.locator(f"#{trigger_id}")).to_have_text(option)


async def test_key_rules_edit_disable_enable_revoke(browser, app_url, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": "sk-ant-api03-" + "k" * 40})
    expiry_day = date.today() + timedelta(days=30)

    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await open_keys_page(page)
        active = page.locator("#proxy-keys-table .proxy-key-row")
        await expect(active).to_have_count(1)  # the account's own "test key"
        await expect(page.locator("#retired-keys-table")).to_have_count(0)

        # A service error comes back translated, in the form's callout.
        await page.locator("#key-name").fill("bad-networks")
        await page.locator("#key-networks").fill("not-a-network")
        await page.locator("#create-key").click()
        await expect(page.locator("#keys-error")).to_contain_text("addresses or CIDRs")
        await expect(active).to_have_count(1)

        # Create: a daily budget, both allow-lists, an expiry date.
        await page.locator("#key-name").fill("ci-bot")
        await page.locator("#key-budget").fill("2")
        await expect(page.locator("#key-budget-period")).to_have_text("per day")  # the default
        await expect(page.locator("#key-budget-alerts")).to_have_value("50, 80, 100")
        await page.locator("#key-tpm").fill("50000")
        await page.locator("#key-models").fill("claude-haiku-*, gpt-5*")
        await page.locator("#key-networks").fill("127.0.0.0/8, 10.0.0.0/8")
        await page.locator("#key-expires").fill(expiry_day.isoformat())
        await expect(page.locator("#create-key-form")).to_contain_text("00:00 UTC")
        await page.locator("#create-key").click()
        await expect(page.locator("#new-key-panel")).to_be_visible()
        await expect(page.locator("#keys-error")).to_have_count(0)
        await expect(page.locator("#new-key-value")).to_have_value(re.compile(r"^sk-aiu-\S{40,}$"))
        proxy_key = await page.locator("#new-key-value").input_value()
        await expect(active).to_have_count(2)
        row = active.filter(has_text="ci-bot")
        key_id = int(await row.get_attribute("data-key-id"))

        stored = await stored_key(key_id)
        assert stored.name == "ci-bot"
        assert (stored.budget_nano, stored.budget_period) == (2_000_000_000, "day")
        assert stored.tpm_limit == 50_000
        assert stored.allowed_models == "claude-haiku-*,gpt-5*"
        assert stored.allowed_networks == "127.0.0.0/8,10.0.0.0/8"
        assert stored.expires_at == datetime(
            expiry_day.year, expiry_day.month, expiry_day.day, tzinfo=UTC
        )

        # Its rules on its row.
        await expect(row.locator(".key-budget")).to_contain_text("$0.00 / $2.00 per day")
        await expect(row.locator(".key-budget")).to_contain_text("resets")
        await expect(row.locator(".key-rates")).to_contain_text("50,000 tokens/min")
        await expect(row.locator(".key-models")).to_contain_text("claude-haiku-*, gpt-5*")
        await expect(row.locator(".key-networks")).to_contain_text("127.0.0.0/8, 10.0.0.0/8")
        await expect(row.locator(".key-expires")).to_contain_text(str(expiry_day.year))
        await expect(row.locator(".key-disabled")).to_have_count(0)
        await screenshot(page, "keys-rules")
        assert await sideways_overflow(page) == [], "the keys page scrolls sideways"
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "keys-rules-phone")
        await page.set_viewport_size({"width": 1280, "height": 800})

        # The key works for an allowed model (from 127.0.0.1), is refused another one, and
        # what it spent shows against its budget.
        reply = await call(app_url, proxy_key)
        assert reply.usage.input_tokens == fake.behavior.input_tokens
        with pytest.raises(anthropic.PermissionDeniedError):
            await call(app_url, proxy_key, OTHER_MODEL)
        (usage,) = await wait_usage(account.id, 1)
        assert usage.charged_nano > 0
        await open_keys_page(page)
        await expect(row.locator(".key-budget")).not_to_contain_text("$0.00 /")

        # Edit: prefilled, renamed, another budget; untouched rules stay as they were.
        await row.locator(".edit-key").click()
        dialog = page.locator("#edit-key-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#edit-key-name")).to_have_value("ci-bot")
        await expect(page.locator("#edit-key-budget")).to_have_value("2.00")
        await expect(page.locator("#edit-key-budget-period")).to_have_text("per day")
        await expect(page.locator("#edit-key-tpm")).to_have_value("50000")
        await expect(page.locator("#edit-key-models")).to_have_value("claude-haiku-*, gpt-5*")
        await expect(page.locator("#edit-key-networks")).to_have_value("127.0.0.0/8, 10.0.0.0/8")
        await expect(page.locator("#edit-key-expires")).to_have_value(expiry_day.isoformat())
        await page.locator("#edit-key-budget").fill("two dollars")
        await page.locator("#save-key-edit").click()
        await expect(page.locator("#edit-key-error")).to_contain_text("in dollars")
        await expect(dialog).to_be_visible()
        await page.locator("#edit-key-name").fill("ci-bot-renamed")
        await page.locator("#edit-key-budget").fill("3.50")
        await choose(page, "edit-key-budget-period", "per week")
        await expect(page.locator("#edit-key-budget-alerts")).to_have_value("50, 80, 100")
        await page.locator("#edit-key-budget-alerts").fill("90")
        await screenshot(page, "keys-edit-dialog")
        await page.locator("#save-key-edit").click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#keys-notice")).to_have_text("The key is saved.")
        row = active.filter(has_text="ci-bot-renamed")
        await expect(row).to_have_attribute("data-key-id", str(key_id))
        await expect(row.locator(".key-budget")).to_contain_text("/ $3.50 per week")
        stored = await stored_key(key_id)
        assert stored.name == "ci-bot-renamed"
        assert (stored.budget_nano, stored.budget_period) == (3_500_000_000, "week")
        assert stored.budget_alerts == "90"
        assert stored.tpm_limit == 50_000
        assert stored.allowed_models == "claude-haiku-*,gpt-5*"
        assert stored.allowed_networks == "127.0.0.0/8,10.0.0.0/8"
        assert stored.expires_at.date() == expiry_day

        # Disable: marked on its row, still among the active keys; the proxy says 401.
        await row.locator(".toggle-key").click()
        await expect(row.locator(".key-disabled")).to_have_text("Disabled")
        await expect(page.locator("#keys-notice")).to_contain_text("disabled")
        await expect(row.locator(".toggle-key")).to_have_text("Enable")
        assert (await stored_key(key_id)).disabled_at is not None
        assert (await stored_key(key_id)).revoked_at is None
        await screenshot(page, "keys-disabled")
        await asyncio.sleep(KEY_CACHE_WAIT)
        with pytest.raises(anthropic.AuthenticationError) as refused:
            await call(app_url, proxy_key)
        assert refused.value.status_code == 401
        assert "disabled" in str(refused.value)

        # Enable again: the request goes through to the fake upstream.
        await row.locator(".toggle-key").click()
        await expect(row.locator(".key-disabled")).to_have_count(0)
        await expect(row.locator(".toggle-key")).to_have_text("Disable")
        await expect(page.locator("#keys-notice")).to_have_text("The key is enabled again.")
        await asyncio.sleep(KEY_CACHE_WAIT)
        upstream_calls = len(fake.requests)
        await call(app_url, proxy_key)
        assert len(fake.requests) == upstream_calls + 1

        # Revoke: the key moves to "Revoked and expired", apart below the active ones.
        await row.locator(".revoke-key").click()
        await page.locator("#confirm-revoke").click()
        await expect(page.locator("#keys-notice")).to_have_text("The key is revoked.")
        await expect(active).to_have_count(1)
        await expect(page.locator("#retired-keys-title")).to_have_text("Revoked and expired")
        retired = page.locator("#retired-keys-table .proxy-key-row")
        await expect(retired).to_have_count(1)
        await expect(retired).to_have_attribute("data-key-id", str(key_id))
        await expect(retired).to_contain_text("ci-bot-renamed")
        await expect(retired).to_contain_text("revoked")
        await expect(retired.locator(".edit-key, .toggle-key, .revoke-key")).to_have_count(0)
        await screenshot(page, "keys-revoked")

        # The same page in Chinese.
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(page.locator("#retired-keys-title")).to_have_text("已吊销和已过期")
        await expect(page.locator("#active-keys-title")).to_have_text("可用的密钥")
        await expect(page.locator("#create-key-form")).to_contain_text("允许的模型")
        await expect(retired).to_contain_text("预算")
        await expect(retired).to_contain_text("每周")
        await screenshot(page, "keys-zh")
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="English").click()
        await expect(page.locator("#retired-keys-title")).to_have_text("Revoked and expired")


async def test_edit_events_with_another_users_key_id_change_nothing(
    browser, app_url, fake, make_account
):
    from aiusage.db import session_scope
    from aiusage.services import keys

    a = await make_account(usd="5", provider_keys={"anthropic": "sk-ant-api03-" + "a" * 40})
    b = await make_account(usd="5", provider_keys={"anthropic": "sk-ant-api03-" + "b" * 40})
    a_name = "a-secret-" + secrets.token_hex(4)
    async with session_scope() as db:
        a_key, a_plaintext = await keys.create_proxy_key(
            db, a.id, a_name, allowed_models="claude-*", budget_nano=10**9, budget_period="day"
        )
    a_key_id = a_key.id
    before = await stored_key(a_key_id)
    swapped: set[str] = {".save_edit", ".set_key_enabled"}
    rewritten: list[str] = []  # the events whose frames went out with A's key id

    def swap_key_id(frame: str) -> str:
        events = [event for event in swapped if event in frame]
        if not events:
            return frame
        # Form data travels as ordered entries (["key_id","5"]); arguments as {"key_id":"5"}.
        frame, n = re.subn(rf'("key_id"\s*[:,]\s*)"?{b.key_id}"?', rf'\g<1>"{a_key_id}"', frame)
        if n:
            rewritten.extend(events)
        return frame

    async with new_page(browser, app_url) as page:
        await tampering(page, swap_key_id)
        await log_in(page, b.email, b.password)
        await open_keys_page(page)
        rows = page.locator(".proxy-key-row")
        await expect(rows).to_have_count(1)  # only B's own key is listed
        await expect(rows).to_have_attribute("data-key-id", str(b.key_id))

        # B edits their own key; the save event carries A's key id instead.
        await rows.locator(".edit-key").click()
        await expect(page.locator("#edit-key-name")).to_have_value("test key")
        await page.locator("#edit-key-name").fill("hijacked")
        await page.locator("#edit-key-budget").fill("0.01")
        await page.locator("#edit-key-models").fill("nothing-*")
        await page.locator("#save-key-edit").click()
        await expect(page.locator("#edit-key-error")).to_have_text("No such key.")
        await page.keyboard.press("Escape")
        await expect(page.locator("#edit-key-dialog")).to_have_count(0)

        # Disable, with A's key id.
        await rows.locator(".toggle-key").click()
        await expect(page.locator("#keys-error")).to_have_text("No such key.")

        # Opening the edit dialog for A's key shows nothing of it.
        await open_keys_page(page)
        await expect(page.locator("#keys-error")).to_have_count(0)
        swapped.add(".open_edit")
        await rows.locator(".edit-key").click()
        await expect(page.locator("#keys-error")).to_have_text("No such key.")
        await expect(page.locator("#edit-key-dialog")).to_have_count(0)

        received = "\n".join(frames(page).received)

    assert sorted(set(rewritten)) == [".open_edit", ".save_edit", ".set_key_enabled"], rewritten

    after = await stored_key(a_key_id)
    for column in (
        "name",
        "budget_nano",
        "budget_period",
        "allowed_models",
        "disabled_at",
        "revoked_at",
    ):
        assert getattr(after, column) == getattr(before, column), f"B changed A's {column}"
    own = await stored_key(b.key_id)
    assert own.name == "test key" and own.budget_nano is None and own.allowed_models is None
    assert own.disabled_at is None
    assert a_name not in received and "claude-*" not in received
    await call(app_url, a_plaintext)  # A's key still works
