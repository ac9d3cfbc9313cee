"""Analytics only after consent, never with Do Not Track, and no cookie but the session's.

Runs a second app server, configured with AIUSAGE_GTM_ID (the main test server has none), on
the same database. There is no internet here: every request to Google Tag Manager is
recorded and aborted."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.browser.test_browser_auth import log_in, path_is
from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.browser import TIMEOUT_MS, hydrated, launch_chromium, new_page
from tests.helpers.support import ROOT, AppServer, free_port

expect.set_options(timeout=TIMEOUT_MS)

GTM_ID = "GTM-TEST123"
GTM = re.compile(r"googletagmanager\.com")
DNT_SCRIPT = """
Object.defineProperty(Navigator.prototype, "doNotTrack", {get: () => "1"});
"""


@pytest.fixture(scope="module")
def gtm_server(app_server):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_")}
    env.update(TEST_ENV)
    env.update(AIUSAGE_GTM_ID=GTM_ID, AIUSAGE_SITE_URL=f"http://127.0.0.1:{port}")
    env["REFLEX_WEB_WORKDIR"] = str(RUN_DIR / "web-gtm")
    env["REFLEX_STATES_WORKDIR"] = str(RUN_DIR / "states-gtm")
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"
    server = AppServer(port, env, RUN_DIR / "server-gtm.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def browser(gtm_server) -> Browser:
    async with launch_chromium() as launched:
        yield launched


async def record_gtm(context: BrowserContext) -> list[str]:
    """Every request the pages make to the tag manager (each one aborted: no internet)."""
    requested: list[str] = []

    def seen(request: Request) -> None:
        if GTM.search(request.url):
            requested.append(request.url)

    async def abort(route: Route) -> None:
        await route.abort()

    context.on("request", seen)
    await context.route(GTM, abort)
    return requested


async def cookie_names(page: Page) -> list[str]:
    return sorted(c["name"] for c in await page.context.cookies())


async def test_no_analytics_and_no_cookie_before_consent(browser, gtm_server, make_account):
    account = await make_account(usd="0")
    async with new_page(browser, gtm_server.url) as page:
        requested = await record_gtm(page.context)
        async with hydrated(page):
            await page.goto("/")
        await expect(page.locator("#consent-banner")).to_be_visible()
        await page.wait_for_timeout(1000)
        assert await cookie_names(page) == []
        assert requested == []

        await log_in(page, account.email, account.password)
        await expect(page).to_have_url(path_is("/dashboard"))
        await page.wait_for_timeout(1000)
        assert await cookie_names(page) == ["bai_session"]
        assert requested == []
        assert await page.evaluate("() => document.cookie") == ""  # HttpOnly, nothing else

        # Consent: now the tag manager is requested, with the configured container id.
        async with page.expect_request(GTM):
            await page.locator("#consent-accept").click()
        assert any(f"id={GTM_ID}" in url for url in requested), requested
        await expect(page.locator("#consent-banner")).to_be_hidden()
        assert await page.evaluate("() => localStorage.getItem('aiusage_consent')") == "granted"
        assert await cookie_names(page) == ["bai_session"]  # the choice is not a cookie

        # Remembered: the next page load requests it again, with no banner.
        count = len(requested)
        async with page.expect_request(GTM):
            await page.reload()
        assert len(requested) > count
        await expect(page.locator("#consent-banner")).to_be_hidden()

        # Withdrawn through the footer: the banner is back and the next load requests nothing.
        await page.locator("#cookie-settings").click()
        await expect(page.locator("#consent-banner")).to_be_visible()
        await page.locator("#consent-decline").click()
        count = len(requested)
        async with hydrated(page):
            await page.reload()
        await page.wait_for_timeout(1000)
        assert len(requested) == count
        await expect(page.locator("#consent-banner")).to_be_hidden()


async def test_do_not_track_means_no_analytics_even_after_consent(browser, gtm_server):
    context = await browser.new_context(base_url=gtm_server.url, extra_http_headers={"DNT": "1"})
    try:
        await context.add_init_script(DNT_SCRIPT)
        # As if the visitor had accepted before.
        await context.add_init_script("localStorage.setItem('aiusage_consent', 'granted')")
        requested = await record_gtm(context)
        page = await context.new_page()
        await page.goto("/")
        await expect(page.locator("#footer-privacy")).to_be_visible()
        assert await page.evaluate("() => navigator.doNotTrack") == "1"
        await page.wait_for_timeout(2000)
        assert requested == []
        await expect(page.locator("#consent-banner")).to_be_hidden()
        assert await cookie_names(page) == []
    finally:
        await context.close()
