"""A real browser for the end-to-end tests: Debian's chromium driven by Playwright's async API.

The suites run under pytest-asyncio with one session-wide loop, where Playwright's sync API
refuses to start, so everything here is async:

- `launch_chromium()` starts the browser (the system one: never `playwright install`);
- `new_page()` opens a page in a fresh context (no cookies, no storage) and records every
  websocket frame it sends and receives (`frames(page)`);
- `hydrated(page)` wraps a navigation and waits until the new page's Reflex state has arrived
  (its on_load ran), so a test acts on the page a user sees, not on the server-rendered shell
  whose forms React has not taken over yet;
- `screenshot()` saves what the page shows under `tests.helpers.support.ARTIFACTS`.

    # `browser` is a module-scoped fixture of tests/conftest.py (one chromium per module)
    async def test_x(browser, app_url):
        async with new_page(browser, app_url) as page:
            async with hydrated(page):
                await page.goto("/login")
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Page, WebSocket, WebSocketRoute, async_playwright, expect

from tests.helpers.support import ARTIFACTS

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
# Limit for Playwright's auto-waiting (actions, expect()) and for hydrated().
TIMEOUT_MS = 15_000
# Reflex's last delta of a page load (or client-side route change): on_load has run.
HYDRATED_MARK = '"is_hydrated_rx_state_":true'


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Headless chromium from /usr/bin."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Frames:
    """Every websocket frame of one page (all its page loads), in order, as text."""

    received: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, ws: WebSocket) -> None:
        def on_received(payload: str | bytes) -> None:
            self.received.append(_text(payload))
            self.changed.set()

        ws.on("framereceived", on_received)
        ws.on("framesent", lambda payload: self.sent.append(_text(payload)))


def _text(payload: str | bytes) -> str:
    return payload if isinstance(payload, str) else payload.decode("utf-8", "replace")


_frames: weakref.WeakKeyDictionary[Page, Frames] = weakref.WeakKeyDictionary()


def frames(page: Page) -> Frames:
    """The websocket frames recorded for a page opened with new_page()."""
    return _frames[page]


@asynccontextmanager
async def new_page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    """A page in a fresh context, so each test starts signed out with an empty cookie jar."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        recorded = _frames[page] = Frames()
        page.on("websocket", recorded.attach)
        yield page
    finally:
        await context.close()


@asynccontextmanager
async def hydrated(page: Page, timeout_ms: float = TIMEOUT_MS) -> AsyncIterator[None]:
    """Waits, after the wrapped navigation, until the page it led to has its Reflex state
    (the server sent the hydrated mark after the block was entered)."""
    recorded = frames(page)
    first_new = len(recorded.received)
    yield

    def done() -> bool:
        return any(HYDRATED_MARK in f for f in recorded.received[first_new:])

    async def wait() -> None:
        while not done():
            recorded.changed.clear()
            if done():
                return
            await recorded.changed.wait()

    try:
        await asyncio.wait_for(wait(), timeout_ms / 1000)
    except TimeoutError:
        raise AssertionError(
            f"no page load hydrated its state within {timeout_ms / 1000:g}s (now at {page.url})"
        ) from None


async def visit(page: Page, url: str) -> None:
    """Opens `url` and waits until its state has arrived."""
    async with hydrated(page):
        await page.goto(url)


async def sideways_overflow(page: Page) -> list[str]:
    """Elements sticking out to the right of a page that scrolls sideways (none should, on a
    phone)."""
    return await page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width + 1) return [];
            const out = el => el.getBoundingClientRect().right > width + 1;
            return [...document.querySelectorAll("body *")]
                .filter(el => out(el) && !(el.parentElement && out(el.parentElement)))
                .slice(0, 8)
                .map(el => `${el.tagName}#${el.id}.${el.className}`);
        }"""
    )


async def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG as ARTIFACTS/<name>.png and returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (name if name.endswith(".png") else f"{name}.png")
    await page.screenshot(path=str(path), full_page=True)
    return path


async def log_in(page: Page, email: str, password: str) -> None:
    """Signs in through the login form and waits for the dashboard."""
    async with hydrated(page):
        await page.goto("/login")
    form = page.locator("#login-form")
    await form.locator("input#email").fill(email)
    await form.locator("input#password").fill(password)
    async with hydrated(page):
        await form.locator("button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/dashboard/?$"))


async def tampering(page: Page, rewrite: Callable[[str], str]) -> None:
    """Every websocket frame the page sends passes through `rewrite` on its way out (what an
    attacker controlling their own browser can do)."""
    recorded = frames(page)

    def handler(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def out(message: str | bytes) -> None:
            server.send(rewrite(message) if isinstance(message, str) else message)

        def back(message: str | bytes) -> None:
            if isinstance(message, str):
                recorded.received.append(message)
                recorded.changed.set()
            ws.send(message)

        ws.on_message(out)
        server.on_message(back)

    await page.route_web_socket(re.compile(r".*/_event.*"), handler)
