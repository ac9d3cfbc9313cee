"""Provider key pools on the keys page, in a real chromium against the real server: add two
Anthropic keys ("main", "backup") through the form (each checked with the fake upstream's
model list first), see them in pool order; make "main" answer 401, send a real request with
the user's proxy key and see it served by "backup"; the page then shows "main" refused and
"backup" working, and the spend table names "backup" with the one request. A key the
provider refuses is not stored; replacing main's secret makes it work again; edit and
remove. Then a tampering user: the edit, replace and remove events carrying another user's
provider key id change nothing and show nothing of it."""

from __future__ import annotations

import asyncio
import re
import secrets
import time

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
    tampering,
)
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

MODEL = "claude-haiku-4-5"
WORKING = "Working"
REFUSED = "Refused by the provider (401): replace it"


def anthropic_key(last4: str) -> str:
    return "sk-ant-api03-" + secrets.token_hex(20) + last4


async def open_keys_page(page: Page) -> None:
    async with hydrated(page):
        await page.goto("/dashboard/keys")


async def call(app_url: str, key: str) -> anthropic.types.Message:
    client = anthropic.AsyncAnthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    try:
        return await client.messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await client.close()


async def pool(user_id: int) -> list:
    from aiusage.db import session_scope
    from aiusage.services import keys

    async with session_scope() as db:
        return await keys.list_provider_keys(db, user_id)


async def stored_rows(user_id: int) -> list[tuple]:
    """Everything stored of the user's provider keys, the sealed secret included."""
    from sqlalchemy import select

    from aiusage.db import session_scope
    from aiusage.models import ProviderKey

    async with session_scope() as db:
        rows = await db.execute(
            select(ProviderKey).where(ProviderKey.user_id == user_id).order_by(ProviderKey.id)
        )
        return [
            (k.id, k.label, k.last4, k.priority, k.weight, k.ciphertext, k.invalid_at)
            for k in rows.scalars()
        ]


async def wait_state(user_id: int, key_id: int, state: str, timeout: float = 10.0) -> None:
    """The proxy records what it learned off the response path: wait until it landed."""
    deadline = time.monotonic() + timeout
    while True:
        found = {k.id: k.state for k in await pool(user_id)}
        if found.get(key_id) == state or time.monotonic() > deadline:
            assert found.get(key_id) == state, found
            return
        await asyncio.sleep(0.05)


def models_checks(fake, key: str) -> int:
    """How often the fake upstream was asked for its model list with `key`."""
    return sum(
        1
        for r in list(fake.requests)
        if r.path == "/v1/models" and r.headers.get("x-api-key") == key
    )


async def add_key(page: Page, secret: str, label: str, priority: str = "") -> None:
    await page.locator("#provider-key-input").fill(secret)
    await page.locator("#provider-key-label").fill(label)
    await page.locator("#provider-key-priority").fill(priority)
    await page.locator("#save-provider-key").click()


async def test_provider_key_pool(browser, app_url, fake, make_account):
    account = await make_account(usd="5")
    main_key, backup_key = anthropic_key("Main"), anthropic_key("Back")
    refused_key, new_main_key = anthropic_key("Nope"), anthropic_key("New1")

    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await open_keys_page(page)
        rows = page.locator("#provider-pool-anthropic .provider-key-row")
        await expect(rows).to_have_count(0)
        await expect(page.locator("#provider-spend-empty")).to_be_visible()

        # A key of the wrong shape never goes upstream.
        await add_key(page, "sk-ant-short", "main")
        await expect(page.locator("#provider-error")).to_contain_text("does not look like")
        assert not [r for r in fake.requests if r.path == "/v1/models"]

        # Two keys through the form, each checked with the provider before it is stored.
        await add_key(page, main_key, "main")
        await expect(page.locator("#provider-notice")).to_have_text(
            "The provider accepted the key: it is saved."
        )
        await expect(page.locator("#provider-error")).to_have_count(0)
        await expect(rows).to_have_count(1)
        for field in ("#provider-key-input", "#provider-key-label", "#provider-key-priority"):
            await expect(page.locator(field)).to_have_value("")
        assert models_checks(fake, main_key) == 1
        await add_key(page, backup_key, "backup")
        await expect(rows).to_have_count(2)
        assert models_checks(fake, backup_key) == 1

        # In pool order: main first (priority 1), backup after it; both working.
        main_row, backup_row = rows.nth(0), rows.nth(1)
        await expect(main_row.locator(".provider-key-label")).to_have_text("main")
        await expect(main_row.locator(".provider-key-last4")).to_have_text("••••Main")
        await expect(main_row.locator(".provider-key-priority")).to_have_text("1")
        await expect(main_row.locator(".provider-key-weight")).to_have_text("1")
        await expect(backup_row.locator(".provider-key-label")).to_have_text("backup")
        await expect(backup_row.locator(".provider-key-last4")).to_have_text("••••Back")
        await expect(backup_row.locator(".provider-key-priority")).to_have_text("2")
        await expect(page.locator(".provider-key-state")).to_have_text([WORKING, WORKING])
        main_id = int(await main_row.get_attribute("data-key-id"))
        backup_id = int(await backup_row.get_attribute("data-key-id"))
        assert [(k.id, k.label, k.last4) for k in await pool(account.id)] == [
            (main_id, "main", "Main"),
            (backup_id, "backup", "Back"),
        ]

        # "Test" asks the provider and stores nothing.
        await page.locator("#provider-key-input").fill(anthropic_key("Tst1"))
        await page.locator("#test-provider-key").click()
        await expect(page.locator("#provider-check")).to_have_text("The provider accepts this key.")
        assert len(await pool(account.id)) == 2
        await page.locator("#provider-key-input").fill("")

        # main answers 401: the request is retried on backup and succeeds.
        fake.behavior.key_statuses = {main_key: 401}
        sent_before = len(fake.requests)
        reply = await call(app_url, account.proxy_key)
        assert reply.content[0].text == fake.behavior.reply_text
        tried = [
            r.headers.get("x-api-key")
            for r in list(fake.requests)[sent_before:]
            if r.path == "/v1/messages"
        ]
        assert tried == [main_key, backup_key]
        (row,) = await wait_usage(account.id, 1)
        assert row.provider_key_id == backup_id
        await wait_state(account.id, main_id, "invalid")

        # What the proxy learned, on the page.
        await open_keys_page(page)
        await expect(main_row.locator(".provider-key-state")).to_have_text(REFUSED)
        await expect(main_row.locator(".provider-key-state")).to_have_attribute(
            "data-state", "invalid"
        )
        await expect(main_row.locator(".provider-key-error")).to_have_text("Last error: HTTP 401")
        await expect(backup_row.locator(".provider-key-state")).to_have_text(WORKING)
        await expect(backup_row.locator(".provider-key-error")).to_have_count(0)

        # Spend per provider key: backup served the one request.
        spend = page.locator("#provider-spend-table .provider-spend-row")
        await expect(spend).to_have_count(1)
        await expect(spend).to_have_attribute("data-key-id", str(backup_id))
        await expect(spend.locator(".spend-provider")).to_have_text("Anthropic")
        await expect(spend.locator(".spend-key")).to_have_text("backup ••••Back")
        await expect(spend.locator(".spend-requests")).to_have_text("1")
        await expect(spend.locator(".spend-cost")).to_have_text(re.compile(r"^\$\d"))
        await expect(spend.locator(".spend-charged")).to_have_text(re.compile(r"^\$\d"))
        await screenshot(page, "provider-keys-pool")

        # A key the provider refuses is not stored; it stays in the form to be corrected.
        fake.behavior.key_statuses = {main_key: 401, refused_key: 401}
        await page.locator("#provider-key-input").fill(refused_key)
        await page.locator("#test-provider-key").click()
        await expect(page.locator("#provider-check")).to_have_text("The provider refuses this key.")
        await add_key(page, refused_key, "refused")
        await expect(page.locator("#provider-error")).to_contain_text(
            "The provider refused this key, so it was not saved."
        )
        await expect(page.locator("#provider-notice")).to_have_count(0)
        await expect(page.locator("#provider-key-input")).to_have_value(refused_key)
        assert models_checks(fake, refused_key) == 2  # the test, then the save
        await expect(rows).to_have_count(2)
        assert [k.id for k in await pool(account.id)] == [main_id, backup_id]
        await page.locator("#provider-key-input").fill("")

        # Replace main's secret: checked, stored, and what was learned is forgotten.
        await main_row.locator(".replace-provider-key").click()
        dialog = page.locator("#replace-provider-key-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("main ••••Main")
        await page.locator("#replace-provider-key-input").fill(refused_key)
        await page.locator("#save-provider-key-replace").click()
        await expect(page.locator("#replace-provider-key-error")).to_contain_text(
            "The provider refused this key"
        )
        await page.locator("#replace-provider-key-input").fill(new_main_key)
        await page.locator("#test-replacement-key").click()
        await expect(page.locator("#replace-provider-check")).to_have_text(
            "The provider accepts this key."
        )
        await screenshot(page, "provider-keys-replace")
        await page.locator("#save-provider-key-replace").click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#provider-notice")).to_contain_text("replaces the old one")
        await expect(main_row).to_have_attribute("data-key-id", str(main_id))
        await expect(main_row.locator(".provider-key-last4")).to_have_text("••••New1")
        await expect(main_row.locator(".provider-key-label")).to_have_text("main")
        await expect(main_row.locator(".provider-key-state")).to_have_text(WORKING)
        await expect(main_row.locator(".provider-key-error")).to_have_count(0)
        await expect(page.locator(".provider-key-state")).to_have_text([WORKING, WORKING])
        assert [(k.id, k.last4, k.state) for k in await pool(account.id)] == [
            (main_id, "New1", "ok"),
            (backup_id, "Back", "ok"),
        ]

        # Edit backup: a bad priority is refused, translated; then label, priority, weight.
        await backup_row.locator(".edit-provider-key").click()
        edit = page.locator("#edit-provider-key-dialog")
        await expect(edit).to_be_visible()
        await expect(page.locator("#edit-provider-key-label")).to_have_value("backup")
        await expect(page.locator("#edit-provider-key-priority")).to_have_value("2")
        await expect(page.locator("#edit-provider-key-weight")).to_have_value("1")
        await page.locator("#edit-provider-key-priority").fill("first")
        await page.locator("#save-provider-key-edit").click()
        await expect(page.locator("#edit-provider-key-error")).to_have_text(
            "A priority is a whole number from 1 to 100."
        )
        await page.locator("#edit-provider-key-label").fill("spare")
        await page.locator("#edit-provider-key-priority").fill("1")
        await page.locator("#edit-provider-key-weight").fill("3")
        await page.locator("#save-provider-key-edit").click()
        await expect(edit).to_have_count(0)
        await expect(page.locator("#provider-notice")).to_have_text("The provider key is saved.")
        spare = rows.filter(has_text="spare")
        await expect(spare).to_have_attribute("data-key-id", str(backup_id))
        await expect(spare.locator(".provider-key-priority")).to_have_text("1")
        await expect(spare.locator(".provider-key-weight")).to_have_text("3")
        (stored,) = [k for k in await pool(account.id) if k.id == backup_id]
        assert (stored.label, stored.priority, stored.weight, stored.last4) == (
            "spare",
            1,
            3,
            "Back",
        )

        # The same section in Chinese.
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="简体中文").click()
        await expect(page.locator("#provider-spend-title")).to_have_text(
            "各服务商密钥的花费（最近 30 天）"
        )
        await expect(page.locator(".provider-key-state")).to_have_text(["正常", "正常"])
        await expect(page.locator("#provider-key-form")).to_contain_text("添加密钥")
        await screenshot(page, "provider-keys-zh")
        await page.locator("#language-switcher").click()
        await page.get_by_role("option", name="English").click()
        await expect(page.locator("#provider-spend-title")).to_contain_text("last 30 days")

        # Remove the spare key: the pool keeps main.
        await spare.locator(".remove-provider-key").click()
        await page.locator("#confirm-remove-provider-key").click()
        await expect(page.locator("#provider-notice")).to_have_text("Provider key removed.")
        await expect(rows).to_have_count(1)
        await expect(rows).to_have_attribute("data-key-id", str(main_id))
        assert [k.id for k in await pool(account.id)] == [main_id]

        received = "\n".join(frames(page).received)

    for secret in (main_key, backup_key, refused_key, new_main_key):
        assert secret not in received, "a provider key's secret was sent to the browser"


async def test_a_failing_key_shows_until_when_it_is_tried_last(
    browser, app_url, fake, make_account
):
    secret = anthropic_key("Slow")
    account = await make_account(usd="5", provider_keys={"anthropic": secret})
    (only,) = await pool(account.id)
    # Three answers in a row that another key might not give: the key cools down.
    fake.behavior.key_statuses = {secret: 429}
    for _ in range(3):
        with pytest.raises(anthropic.RateLimitError):
            await call(app_url, account.proxy_key)
    await wait_state(account.id, only.id, "cooling")

    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await open_keys_page(page)
        row = page.locator("#provider-pool-anthropic .provider-key-row")
        await expect(row).to_have_attribute("data-key-id", str(only.id))
        state = row.locator(".provider-key-state")
        await expect(state).to_have_attribute("data-state", "cooling")
        await expect(state).to_have_text(
            re.compile(r"^Failing — tried last until \w+ \d+, \d{4}, \d\d:\d\d$")
        )
        await expect(row.locator(".provider-key-error")).to_have_text("Last error: HTTP 429")


async def test_provider_key_events_with_another_users_key_id_change_nothing(
    browser, app_url, fake, make_account
):
    from aiusage.db import session_scope
    from aiusage.services import keys

    a = await make_account(usd="5", provider_keys={"anthropic": anthropic_key("AaQ7")})
    b = await make_account(usd="5", provider_keys={"anthropic": anthropic_key("BbQ7")})
    (a_key,) = await pool(a.id)
    (b_key,) = await pool(b.id)
    a_label = "a-secret-" + secrets.token_hex(4)
    async with session_scope() as db:
        await keys.update_provider_key(db, a.id, a_key.id, label=a_label, weight=7)
    a_before, b_before = await stored_rows(a.id), await stored_rows(b.id)
    hijack_key = anthropic_key("Hjck")
    swapped: set[str] = {".save_provider_edit"}
    rewritten: list[str] = []

    def swap_key_id(frame: str) -> str:
        events = [event for event in swapped if event in frame]
        if not events:
            return frame
        # Form data travels as ordered entries (["key_id","5"]); arguments as {"key_id":"5"}.
        frame, n = re.subn(
            rf'("key_id"\s*[:,]\s*)"?{b_key.id}"?(?!\d)', rf'\g<1>"{a_key.id}"', frame
        )
        if n:
            rewritten.extend(events)
        return frame

    async with new_page(browser, app_url) as page:
        await tampering(page, swap_key_id)
        await log_in(page, b.email, b.password)
        await open_keys_page(page)
        rows = page.locator(".provider-key-row")
        await expect(rows).to_have_count(1)  # only B's own key is listed
        await expect(rows).to_have_attribute("data-key-id", str(b_key.id))

        # Edit: B's own dialog, saved with A's key id.
        await rows.locator(".edit-provider-key").click()
        await expect(page.locator("#edit-provider-key-priority")).to_have_value("1")
        await page.locator("#edit-provider-key-label").fill("hijacked")
        await page.locator("#edit-provider-key-priority").fill("99")
        await page.locator("#save-provider-key-edit").click()
        await expect(page.locator("#edit-provider-key-error")).to_have_text("No such key.")
        await page.keyboard.press("Escape")
        await expect(page.locator("#edit-provider-key-dialog")).to_have_count(0)

        # Replace: a new secret for A's key id; refused before anything goes upstream.
        swapped.add(".save_provider_replace")
        await rows.locator(".replace-provider-key").click()
        await page.locator("#replace-provider-key-input").fill(hijack_key)
        await page.locator("#save-provider-key-replace").click()
        await expect(page.locator("#replace-provider-key-error")).to_have_text("No such key.")
        await page.keyboard.press("Escape")
        await expect(page.locator("#replace-provider-key-dialog")).to_have_count(0)
        assert models_checks(fake, hijack_key) == 0

        # Remove, with A's key id.
        swapped.add(".remove_provider_key")
        await rows.locator(".remove-provider-key").click()
        await page.locator("#confirm-remove-provider-key").click()
        await expect(page.locator("#provider-error")).to_have_text("No such key.")
        await expect(rows).to_have_count(1)

        # Opening the edit or replace dialog for A's key shows nothing of it.
        swapped.update({".open_provider_edit", ".open_provider_replace"})
        for button in (".edit-provider-key", ".replace-provider-key"):
            await open_keys_page(page)
            await expect(page.locator("#provider-error")).to_have_count(0)
            await rows.locator(button).click()
            await expect(page.locator("#provider-error")).to_have_text("No such key.")
        await expect(page.locator("#edit-provider-key-dialog")).to_have_count(0)
        await expect(page.locator("#replace-provider-key-dialog")).to_have_count(0)

        received = "\n".join(frames(page).received)

    assert sorted(set(rewritten)) == [
        ".open_provider_edit",
        ".open_provider_replace",
        ".remove_provider_key",
        ".save_provider_edit",
        ".save_provider_replace",
    ], rewritten
    assert await stored_rows(a.id) == a_before, "B changed A's provider key"
    assert await stored_rows(b.id) == b_before  # the tampered events changed nothing at all
    assert a_label not in received and "AaQ7" not in received
    await call(app_url, a.proxy_key)  # A's key still works


async def test_a_refused_key_works_again_once_its_secret_is_replaced(app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.services import keys

    old_secret, new_secret = anthropic_key("Old1"), anthropic_key("New2")
    account = await make_account(usd="5", provider_keys={"anthropic": old_secret})
    (only,) = await pool(account.id)
    fake.behavior.key_statuses = {old_secret: 401}
    with pytest.raises(anthropic.AuthenticationError):
        await call(app_url, account.proxy_key)
    await wait_state(account.id, only.id, "invalid")

    async with session_scope() as db:
        await keys.update_provider_key(db, account.id, only.id, plaintext=new_secret)
    await asyncio.sleep(1.3)  # the proxy reads a user's pool from a 1 s cache
    sent_before = len(fake.requests)
    reply = await call(app_url, account.proxy_key)  # today: 403, "replace them"
    assert reply.content[0].text == fake.behavior.reply_text
    tried = [r.headers.get("x-api-key") for r in list(fake.requests)[sent_before:]]
    assert tried == [new_secret]
