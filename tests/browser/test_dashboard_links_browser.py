"""What was broken on the dashboard (issue: the dashboard as users judge it): the page opened
at another loopback name of the site than the configured one, and "Download my data"."""

from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from tests.helpers.browser import TIMEOUT_MS, hydrated, log_in, new_page

expect.set_options(timeout=TIMEOUT_MS)


@pytest.mark.parametrize("host", ["localhost", "0.0.0.0"])
async def test_every_loopback_name_of_a_development_site_connects(browser, app_url, host):
    """The site is configured as 127.0.0.1 here; the server prints 0.0.0.0 and people type
    localhost: the websocket must accept all of them (it answered 403 before)."""
    port = urlsplit(app_url).port
    async with new_page(browser, f"http://{host}:{port}") as page:
        async with hydrated(page):  # only a working websocket brings the hydrated state
            await page.goto("/login")
        await expect(page.locator("#login-form")).to_be_visible()
        await expect(page.get_by_text("Cannot connect to server")).to_have_count(0)


async def test_download_my_data_downloads_the_zip(browser, app_url, make_account):
    account = await make_account(usd="1")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        async with hydrated(page):
            await page.goto("/dashboard/settings")
        async with page.expect_download() as downloading:
            await page.locator("#export-link").click()
        download = await downloading.value
        assert download.suggested_filename.endswith(".zip")
        path = await download.path()
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            names = archive.namelist()
            account_json = json.loads(archive.read(next(n for n in names if "account" in n)))
        assert account.email in json.dumps(account_json)
        await expect(page).to_have_url(re.compile(r"/dashboard/settings/?$"))  # no 404 page
        await expect(page.locator("#export-link")).to_be_visible()
