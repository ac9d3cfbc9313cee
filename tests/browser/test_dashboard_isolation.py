"""Users cannot see or touch each other's keys or usage: user B tries A's ids through the
dashboard's own events (the browser's websocket frames rewritten in flight, as a tampering
user would) and through the CSV route with guessed ids and filters, and gets nothing."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import anthropic
import httpx
import pytest
from playwright.async_api import expect

from tests.helpers.browser import TIMEOUT_MS, frames, hydrated, log_in, new_page, tampering
from tests.helpers.support import wait_usage

expect.set_options(timeout=TIMEOUT_MS)

A_MODEL = "claude-opus-4-1"
B_MODEL = "claude-haiku-4-5"
CSV = "/api/usage/export.csv"


def call(app_url: str, key: str, model: str) -> None:
    client = anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    client.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "x"}])


@contextmanager
def signed_in_client(app_url: str, email: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=30) as client:
        answer = client.post("/api/auth/login", data={"email": email, "password": password})
        assert answer.status_code in (200, 303), answer.text
        assert client.cookies.get("bai_session")
        yield client


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
async def two_users(app_url, fake, make_account):
    a = await make_account(usd="5", provider_keys={"anthropic": "sk-ant-api03-" + "a" * 40})
    b = await make_account(usd="5", provider_keys={"anthropic": "sk-ant-api03-" + "b" * 40})
    call(app_url, a.proxy_key, A_MODEL)
    call(app_url, a.proxy_key, A_MODEL)
    call(app_url, b.proxy_key, B_MODEL)
    await wait_usage(a.id, 2)
    await wait_usage(b.id, 1)
    return a, b


async def test_revoke_event_with_another_users_key_id_does_nothing(browser, app_url, two_users):
    from aiusage.db import session_scope
    from aiusage.models import ProxyKey

    a, b = two_users

    def swap_key_id(frame: str) -> str:
        if ".revoke" not in frame:
            return frame
        return frame.replace(f'"key_id":"{b.key_id}"', f'"key_id":"{a.key_id}"').replace(
            f'"key_id":{b.key_id}', f'"key_id":{a.key_id}'
        )

    async with new_page(browser, app_url) as page:
        await tampering(page, swap_key_id)
        await log_in(page, b.email, b.password)
        async with hydrated(page):
            await page.goto("/dashboard/keys")
        rows = page.locator(".proxy-key-row")
        await expect(rows).to_have_count(1)  # only B's own key is listed
        await expect(rows).to_have_attribute("data-key-id", str(b.key_id))
        await page.locator(".revoke-key").click()
        await page.locator("#confirm-revoke").click()
        await expect(page.locator("#keys-error")).to_have_text("No such key.")
        sent = [f for f in frames(page).sent if ".revoke" in f]
        received = "\n".join(frames(page).received)

    assert sent, "the revoke event was not sent"
    async with session_scope() as db:
        key_a = await db.get(ProxyKey, a.key_id)
        key_b = await db.get(ProxyKey, b.key_id)
    assert key_a.revoked_at is None, "B revoked A's key"
    assert key_b.revoked_at is None  # the tampered event revoked nothing at all
    assert a.proxy_key[:15] not in received and A_MODEL not in received
    call(app_url, a.proxy_key, A_MODEL)  # A's key still works


async def test_usage_events_with_another_users_key_id_show_nothing(browser, app_url, two_users):
    a, b = two_users

    def swap_filter(frame: str) -> str:
        if ".set_key_filter" not in frame:
            return frame
        return frame.replace(f'"value":"{b.key_id}"', f'"value":"{a.key_id}"')

    async with new_page(browser, app_url) as page:
        await tampering(page, swap_filter)
        await log_in(page, b.email, b.password)
        async with hydrated(page):
            await page.goto("/dashboard/usage")
        rows = page.locator("#usage-table .usage-row")
        await expect(rows).to_have_count(1)  # B's own request, not A's two
        await expect(rows).to_contain_text(B_MODEL)
        await expect(page.locator("#total-requests")).to_have_text("1")
        # B picks their own key in the filter; the frame carries A's key id instead.
        await page.locator("#filter-key").click()
        await page.get_by_role("option", name=re.compile(r"test key")).click()
        await expect(page.locator("#usage-table-empty")).to_be_visible()
        await expect(page.locator("#total-requests")).to_have_text("0")
        assert any(".set_key_filter" in f for f in frames(page).sent)
        body = await page.locator("body").inner_text()
        received = "\n".join(frames(page).received)
    assert A_MODEL not in body and A_MODEL not in received


async def test_csv_route_gives_only_your_own_rows(app_url, two_users):
    a, b = two_users
    with signed_in_client(app_url, a.email, a.password) as as_a:
        own = csv_rows(as_a.get(CSV, params={"range": "today"}).text)
        assert [r["model"] for r in own] == [A_MODEL, A_MODEL]  # the positive control

    with signed_in_client(app_url, b.email, b.password) as as_b:
        everything = as_b.get(CSV, params={"range": "90d"})
        assert everything.status_code == 200
        assert everything.headers["content-type"].startswith("text/csv")
        assert [r["model"] for r in csv_rows(everything.text)] == [B_MODEL]
        guesses = [
            {"key": str(a.key_id)},
            {"key": str(a.key_id), "model": A_MODEL},
            {"model": A_MODEL},
            {"provider": "anthropic", "model": A_MODEL, "range": "custom", "from": "2000-01-01"},
            {"key": "0"},
            {"key": f"{a.key_id} OR 1=1"},
            {"user": str(a.id), "user_id": str(a.id)},
        ]
        for guess in guesses:
            answer = as_b.get(CSV, params={"range": "90d", **guess})
            if answer.status_code == 400:  # a malformed filter is refused outright
                assert A_MODEL not in answer.text, guess
                continue
            assert answer.status_code == 200, guess
            models = [r["model"] for r in csv_rows(answer.text)]
            assert A_MODEL not in models, guess
            assert all(m == B_MODEL for m in models), guess

    assert httpx.get(f"{app_url}{CSV}", timeout=10).status_code == 401
    forged = httpx.get(
        f"{app_url}{CSV}", cookies={"bai_session": secrets.token_urlsafe(32)}, timeout=10
    )
    assert forged.status_code == 401
    assert A_MODEL not in forged.text


async def test_one_tab_two_users_never_sees_the_first_users_data(browser, app_url, two_users):
    """A shared computer: A signs in, looks at keys and usage, signs out; B signs in in the
    same tab (same Reflex token). Nothing of A reaches the tab once A has signed out: not
    in the first snapshot of B's pages, not in any websocket frame."""
    from aiusage.db import session_scope
    from aiusage.services import keys

    a, b = two_users
    a_key_name = "laptop-of-a-" + secrets.token_hex(4)
    async with session_scope() as db:
        await keys.create_proxy_key(db, a.id, a_key_name)
    async with new_page(browser, app_url) as page:
        await log_in(page, a.email, a.password)
        for path in ("/dashboard/keys", "/dashboard/usage", "/dashboard/settings"):
            async with hydrated(page):
                await page.goto(path)
        await expect(page.locator("body")).to_contain_text(a.email)
        token = await page.evaluate("() => window.sessionStorage.getItem('token')")
        seen_as_a = "\n".join(frames(page).received)
        assert a_key_name in seen_as_a and A_MODEL in seen_as_a  # the positive control

        first_after = len(frames(page).received)
        async with hydrated(page):
            await page.locator("#logout-button").click()
        await log_in(page, b.email, b.password)
        for path in ("/dashboard/keys", "/dashboard/usage", "/dashboard/settings"):
            async with hydrated(page):
                await page.goto(path)
        await expect(page.locator("body")).to_contain_text(b.email)
        assert await page.evaluate("() => window.sessionStorage.getItem('token')") == token
        after = "\n".join(frames(page).received[first_after:])

    assert B_MODEL in after  # B's own data did arrive
    for secret in (a.email, a_key_name, A_MODEL):
        assert secret not in after, f"{secret} reached the tab after its owner signed out"
