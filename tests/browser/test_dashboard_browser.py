"""The dashboard as a new user meets it, in a real chromium against the real server: sign up,
create a proxy key and a provider key in the browser, use the key with the official
`anthropic` SDK, see the request and its cost on the usage page, revoke the key and see the
SDK refused. Screenshots of every page (desktop, phone width, light and dark) go to
test-artifacts/. The websocket frames are checked for secrets at the end."""

from __future__ import annotations

import asyncio
import re
import secrets
from decimal import Decimal
from urllib.parse import urlsplit

import anthropic
import pytest
from playwright.async_api import Page, expect

from tests.helpers.browser import (
    TIMEOUT_MS,
    frames,
    hydrated,
    new_page,
    screenshot,
    sideways_overflow,
    visit,
)
from tests.helpers.support import link_in, wait_usage

expect.set_options(timeout=TIMEOUT_MS)

PROVIDER_KEY = "sk-ant-api03-" + secrets.token_urlsafe(30).replace("-", "x") + "Wxyz"
KEY_CACHE_WAIT = 1.3  # the proxy authenticates from a 1 s cache


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(r"^https?://[^/]+" + re.escape(path.rstrip("/")) + r"/?(\?.*)?$")


async def submit_native(page: Page, form_id: str, **fields: str) -> None:
    """Fills a plain HTML form and submits it, waiting for the page the server answers with."""
    form = page.locator(f"#{form_id}")
    for name, value in fields.items():
        await form.locator(f"input#{name}").fill(value)
    action = await form.get_attribute("action")
    async with (
        hydrated(page),
        page.expect_request(lambda r: r.method == "POST" and urlsplit(r.url).path == action),
    ):
        await form.locator("button[type=submit]").click()


async def sign_up_and_log_in(page: Page, mailbox, email: str, password: str) -> None:
    await visit(page, "/signup")
    await submit_native(page, "signup-form", email=email, password=password)
    await expect(page).to_have_url(path_is("/login"))
    await visit(page, link_in(mailbox.wait_for(email, "confirm"), "/api/auth/verify"))
    await submit_native(page, "login-form", email=email, password=password)
    await expect(page).to_have_url(path_is("/dashboard"))


async def user_id_of(email: str) -> int:
    from aiusage.db import session_scope
    from aiusage.services.accounts import get_by_email

    async with session_scope() as db:
        user = await get_by_email(db, email)
        assert user is not None
        return user.id


async def figure_data(page: Page, chart_id: str) -> list[dict]:
    """The traces plotly is drawing in a chart (what the user sees), read from the DOM."""
    handle = page.locator(f"#{chart_id}")
    await expect(handle).to_have_class(re.compile("js-plotly-plot"))
    return await handle.evaluate(
        "el => (el.data || []).map(t => ({name: t.name, x: Array.from(t.x || []),"
        " y: Array.from(t.y || [])}))"
    )


async def sdk_call(app_url: str, key: str) -> anthropic.types.Message:
    client = anthropic.AsyncAnthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    try:
        return await client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": "Hello from the dashboard test"}],
        )
    finally:
        await client.close()


async def test_new_user_keys_usage_and_revoke(browser, app_url, app_server, mailbox, fake):
    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.money import usd_to_nano
    from aiusage.services import billing

    email = f"dash-{secrets.token_hex(5)}@example.com"
    password = "pw-" + secrets.token_urlsafe(12)
    fake.behavior.input_tokens = 1500
    fake.behavior.output_tokens = 420

    async with new_page(browser, app_url) as page:
        await sign_up_and_log_in(page, mailbox, email, password)
        user_id = await user_id_of(email)

        # A new account: no key, no credit, and the overview says what to do.
        await expect(page.locator("#step-key")).to_have_attribute("data-done", "false")
        await expect(page.locator("#step-payment")).to_have_attribute("data-done", "false")
        await expect(page.locator("#cta-credit")).to_be_visible()
        await expect(page.locator("#stat-balance")).to_have_text("$0.00")
        await screenshot(page, "dashboard-overview-empty")

        # Create a proxy key: shown once, with a copy button and a warning.
        await visit(page, "/dashboard/keys")
        await expect(page.locator("#no-proxy-keys")).to_be_visible()
        await expect(page.locator("#new-key-panel")).to_be_hidden()
        await page.locator("#key-name").fill("laptop")
        await page.locator("#key-spend-limit").fill("20")
        await page.locator("#create-key").click()
        await expect(page.locator("#new-key-panel")).to_be_visible()
        await expect(page.locator("#new-key-value")).to_have_value(re.compile(r"^sk-aiu-\S{40,}$"))
        proxy_key = await page.locator("#new-key-value").input_value()
        await expect(page.locator("#new-key-warning")).to_contain_text("will not be shown again")
        await expect(page.locator("#copy-new-key")).to_be_visible()
        row = page.locator(".proxy-key-row")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("laptop")
        await expect(row).to_contain_text(proxy_key[:15])
        await expect(row).to_contain_text("never")
        await expect(row).to_contain_text("$20.00")
        await screenshot(page, "dashboard-keys-created")

        # A key in the wrong format is refused with a message; a right one is kept as last 4.
        await page.locator("#provider-key-input").fill("not-a-key")
        await page.locator("#save-provider-key").click()
        await expect(page.locator("#provider-error")).to_contain_text("does not look like")
        await page.locator("#provider-key-input").fill(PROVIDER_KEY)
        await page.locator("#save-provider-key").click()
        await expect(page.locator("#provider-notice")).to_be_visible()
        await expect(page.locator(".provider-key-last4")).to_have_text("••••" + PROVIDER_KEY[-4:])
        await expect(page.locator("#provider-key-input")).to_have_value("")
        await page.locator("#dismiss-new-key").click()
        await expect(page.locator("#new-key-panel")).to_be_hidden()
        await expect(page.locator("#new-key-value")).to_have_value("")
        await screenshot(page, "dashboard-keys")

        # Credit (the top-up UI is another page's business), then a real SDK call.
        async with session_scope() as db:
            await billing.grant(db, user_id, usd_to_nano("5"), "test credit")
        reply = await sdk_call(app_url, proxy_key)
        assert reply.usage.input_tokens == 1500
        assert fake.requests[-1].headers.get("x-api-key") == PROVIDER_KEY  # the user's own key
        (usage_row,) = await wait_usage(user_id, 1)
        assert usage_row.charged_nano > 0

        # The usage page shows the request in its table and its cost in the spend chart.
        await visit(page, "/dashboard/usage")
        table_rows = page.locator("#usage-table .usage-row")
        await expect(table_rows).to_have_count(1)
        await expect(table_rows).to_contain_text("claude-sonnet-4-5")
        await expect(table_rows).to_contain_text("1,500")
        await expect(table_rows).to_contain_text("laptop")
        await expect(page.locator("#total-requests")).to_have_text("1")
        traces = await figure_data(page, "spend-chart")
        assert [t["name"] for t in traces] == ["claude-sonnet-4-5"]
        charted = sum(Decimal(str(y)) for y in traces[0]["y"])
        assert charted == Decimal(usage_row.charged_nano) / 10**9
        assert len(traces[0]["x"]) == 30  # one bar per day of the 30-day range
        tokens = await figure_data(page, "tokens-chart")
        assert sum(tokens[0]["y"]) == 1500 and sum(tokens[1]["y"]) == 420
        await screenshot(page, "dashboard-usage")

        # The CSV link downloads exactly what is shown, with the browser's cookie.
        csv_href = await page.locator("#csv-link").get_attribute("href")
        assert csv_href and csv_href.startswith("/api/usage/export.csv?")
        async with page.expect_download() as download_info:
            await page.locator("#csv-link").click()
        download = await download_info.value
        csv_text = (await download.path()).read_text()
        lines = csv_text.strip().splitlines()
        assert len(lines) == 2 and "claude-sonnet-4-5" in lines[1] and "laptop" in lines[1]

        # The overview now has a balance, spend and the request; no call to action.
        await visit(page, "/dashboard")
        async with session_scope() as db:
            balance = (await db.get(User, user_id)).balance_nano
        assert balance == usd_to_nano("5") - usage_row.charged_nano
        await expect(page.locator("#recent-table .usage-row")).to_have_count(1)
        await expect(page.locator("#cta-key")).to_have_count(0)
        await expect(page.locator("#cta-credit")).to_have_count(0)
        await expect(page.locator("#stat-requests")).to_have_text("1")
        overview_traces = await figure_data(page, "overview-chart")
        assert sum(Decimal(str(y)) for y in overview_traces[0]["y"]) == charted
        await screenshot(page, "dashboard-overview")

        # Connect your tools: base URLs from the site URL, the key's prefix as placeholder.
        await visit(page, "/dashboard/connect")
        await expect(page.locator("#anthropic-base")).to_have_text(f"{app_url}/api")
        await expect(page.locator("#openai-base")).to_have_text(f"{app_url}/api/v1")
        claude = page.locator("#snippet-claude-code")
        await expect(claude).to_contain_text(f'ANTHROPIC_BASE_URL="{app_url}/api"')
        await expect(claude).to_contain_text('ANTHROPIC_AUTH_TOKEN="$AIUSAGE_API_KEY"')
        # Nothing copied holds a key cut short: every snippet reads the key from the
        # environment; the chosen key's beginning only says which key to put there.
        await expect(page.locator("#connect-key-prefix")).to_have_text(f"{proxy_key[:15]}…")
        for snippet in ("key", "claude-code", "anthropic-py", "anthropic-ts", "openai-py",
                        "openai-claude", "cursor", "codex", "curl"):  # fmt: skip
            text = await page.locator(f"#snippet-{snippet}").inner_text()
            assert "…" not in text and proxy_key[:15] not in text, (snippet, text)
            assert "AIUSAGE_API_KEY" in text, (snippet, text)
        # Codex reads its key from the environment; its provider points at the OpenAI base.
        codex = page.locator("#snippet-codex")
        await expect(codex).to_contain_text(f'base_url = "{app_url}/api/v1"')
        await expect(codex).to_contain_text('wire_api = "responses"')
        await expect(page.locator("#snippet-openai-claude")).to_contain_text("claude-sonnet-4-5")
        await expect(page.locator("#snippet-cursor")).to_contain_text(f"{app_url}/api/v1")
        await screenshot(page, "dashboard-connect")

        # Phone width and dark mode.
        await page.set_viewport_size({"width": 390, "height": 844})
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#usage-table .usage-row")).to_have_count(1)
        await screenshot(page, "dashboard-usage-phone")
        assert await sideways_overflow(page) == [], "the usage page scrolls sideways on a phone"
        await page.emulate_media(color_scheme="dark")
        await visit(page, "/dashboard/keys")
        await expect(page.locator(".proxy-key-row")).to_have_count(1)
        await screenshot(page, "dashboard-keys-phone-dark")
        await page.set_viewport_size({"width": 1280, "height": 800})
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#usage-table .usage-row")).to_have_count(1)
        await screenshot(page, "dashboard-usage-dark")
        await page.emulate_media(color_scheme="light")

        # Revoke, with confirmation; the next SDK call is refused.
        await visit(page, "/dashboard/keys")
        await page.locator(".revoke-key").click()
        await expect(page.get_by_role("alertdialog")).to_contain_text(proxy_key[:15])
        await page.locator("#confirm-revoke").click()
        await expect(page.locator("#keys-notice")).to_be_visible()
        await expect(page.locator(".proxy-key-row")).to_contain_text("revoked")
        await expect(page.locator(".revoke-key")).to_have_count(0)
        await asyncio.sleep(KEY_CACHE_WAIT)
        with pytest.raises(anthropic.AuthenticationError) as refused:
            await sdk_call(app_url, proxy_key)
        assert refused.value.status_code == 401

        token = next(c["value"] for c in await page.context.cookies() if c["name"] == "bai_session")
        received, sent = list(frames(page).received), list(frames(page).sent)

    # No secret reaches the browser over the websocket.
    async with session_scope() as db:
        password_hash = (await db.get(User, user_id)).password_hash
    assert any(email in f for f in received), "no state frames were recorded"
    carrying_key = [f for f in received if proxy_key in f]
    assert len(carrying_key) == 1, f"the proxy key came in {len(carrying_key)} frames, not 1"
    # ... and that one frame is the create reply's value for the shown-once input.
    assert '"ref":"ref_new_key_value"' in carrying_key[0]
    for what, secret in {
        "provider key": PROVIDER_KEY,
        "session token": token,
        "password hash": password_hash,
        "password": password,
    }.items():
        assert not [f for f in received if secret in f], f"the {what} reached the browser"
    # The browser sends the session token or hash never; the provider key only in its form.
    assert not [f for f in sent if token in f or password_hash in f]
    assert len([f for f in sent if PROVIDER_KEY in f]) == 1
    log = app_server.log_text()
    for secret in (PROVIDER_KEY, proxy_key, token):
        assert secret not in log
