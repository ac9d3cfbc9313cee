"""A real browser for the end-to-end tests: Debian's chromium driven by Playwright's async API.

The suites run under pytest-asyncio with one session-wide loop, where Playwright's sync API
refuses to start, so everything here is async. `launch_chromium()` starts the browser,
`new_page()` opens a page in a fresh context (no cookies, no storage), `screenshot()` saves
what the page shows under `tests.support.ARTIFACTS`.

    @pytest.fixture(scope="module")
    async def browser():
        async with launch_chromium() as launched:
            yield launched

    async def test_x(browser, app_url):
        async with new_page(browser, app_url) as page:
            await page.goto("/login")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from tests.support import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
# Auto-waiting limit for actions and expect(): a first page load compiles nothing (prod build),
# but the websocket hydrates the page a moment after the HTML arrives.
TIMEOUT_MS = 15_000


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Headless chromium (the system one: never `playwright install`)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def new_page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    """A page in a fresh context, so each test starts signed out with an empty cookie jar."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG as ARTIFACTS/<name>.png and returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (name if name.endswith(".png") else f"{name}.png")
    await page.screenshot(path=str(path), full_page=True)
    return path
