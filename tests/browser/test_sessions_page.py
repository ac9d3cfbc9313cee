"""The sessions a user can see on the settings page: every signed-in browser of the account
(device, approximate times, this browser marked), each revocable — another one's cookie dies
at once, revoking this browser's own signs it out — and never another account's."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.async_api import expect
from sqlalchemy import select, update

from aiusage.db import session_scope
from aiusage.models import User, UserSession, utcnow
from aiusage.services.security import token_hash
from aiusage.services.sessions import create_session, describe_user_agent
from aiusage.state.security import SecurityState  # at collection: Reflex registers states then
from tests.browser.test_browser_auth import log_in, path_is, session_cookie, visit
from tests.helpers.browser import TIMEOUT_MS, new_page, screenshot

expect.set_options(timeout=TIMEOUT_MS)

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def me(app_url: str, token: str) -> int:
    return httpx.get(
        f"{app_url}/api/auth/me", cookies={"bai_session": token}, timeout=10
    ).status_code


async def session_id(token: str) -> int:
    async with session_scope() as db:
        return (
            await db.execute(
                select(UserSession.id).where(UserSession.token_hash == token_hash(token))
            )
        ).scalar_one()


async def new_session(user_id: int, user_agent: str = "") -> str:
    async with session_scope() as db:
        return await create_session(db, await db.get(User, user_id), user_agent=user_agent)


def security_state(session_token: str):
    """The settings page's security state as the server holds it for this cookie."""
    import reflex as rx

    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(SecurityState.get_full_name().split("."))
    state.router_data = {"headers": {"cookie": f"bai_session={session_token}"}}
    state._update_router_vars(state.router_data, {})
    return state


def test_devices_are_named_simply():
    chrome_linux = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/141.0.0.0 Safari/537.36"
    )
    edge = chrome_linux.replace("X11; Linux x86_64", "Windows NT 10.0; Win64; x64") + " Edg/141.0"
    android = chrome_linux.replace("X11; Linux x86_64", "Linux; Android 14; Pixel 8")
    assert describe_user_agent(chrome_linux) == ("Chrome", "Linux")
    assert describe_user_agent(edge) == ("Edge", "Windows")
    assert describe_user_agent(android) == ("Chrome", "Android")
    assert describe_user_agent(FIREFOX_WINDOWS) == ("Firefox", "Windows")
    assert describe_user_agent(SAFARI_IPHONE) == ("Safari", "iOS")
    assert describe_user_agent("curl/8.5.0") == ("curl", "")
    assert describe_user_agent("") == ("", "")


async def test_the_list_marks_this_browser_and_refuses_another_accounts_session(
    app_url, make_account
):
    owner, other = await make_account(usd="0"), await make_account(usd="0")
    here = await new_session(owner.id, FIREFOX_WINDOWS)
    phone = await new_session(owner.id, SAFARI_IPHONE)
    theirs = await new_session(other.id, FIREFOX_WINDOWS)

    state = security_state(here)
    await SecurityState.load.fn(state)
    assert [(s["device"], s["current"]) for s in state.sessions] == [
        ("Firefox on Windows", "1"),
        ("Safari on iOS", ""),
    ]
    assert all(s["created"].startswith("Signed in ") for s in state.sessions)
    assert all(s["last_used"].startswith("Last active around ") for s in state.sessions)
    assert {s["id"] for s in state.sessions} == {
        str(await session_id(here)),
        str(await session_id(phone)),
    }

    # Another account's session id, sent by this browser: not found, and left alone.
    for foreign in (str(await session_id(theirs)), "-1", "1e3", "", "9" * 40, "٣"):
        await SecurityState.revoke_session.fn(state, foreign)
        assert state.sessions_error == "error.session_not_found", foreign
        assert len(state.sessions) == 2
    assert me(app_url, theirs) == 200

    await SecurityState.revoke_session.fn(state, str(await session_id(phone)))
    assert state.sessions_error == "" and state.sessions_notice == "security.sessions.revoked"
    assert [s["current"] for s in state.sessions] == ["1"]
    assert me(app_url, phone) == 401 and me(app_url, here) == 200

    # Signed out: the event changes nothing and sends the browser to log in.
    signed_out = security_state("not-a-session")
    assert await SecurityState.revoke_session.fn(signed_out, str(await session_id(theirs)))
    assert signed_out.sessions == [] and me(app_url, theirs) == 200


async def test_last_used_is_refreshed_now_and_then(app_url, make_account):
    account = await make_account(usd="0")
    token = await new_session(account.id)
    long_ago = utcnow() - timedelta(hours=3)
    async with session_scope() as db:
        await db.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(last_used_at=long_ago)
        )
    assert me(app_url, token) == 200
    async with session_scope() as db:
        row = await db.get(UserSession, await session_id(token))
    assert row.last_used_at > long_ago + timedelta(hours=2)
    first = row.last_used_at
    assert me(app_url, token) == 200  # within a few minutes: not rewritten
    async with session_scope() as db:
        assert (await db.get(UserSession, row.id)).last_used_at == first


# --- in a real browser --------------------------------------------------------------------


async def test_two_browsers_listed_the_other_revoked_then_this_one(browser, app_url, make_account):
    account = await make_account(usd="0")
    async with new_page(browser, app_url) as first, new_page(browser, app_url) as second:
        await log_in(first, account.email, account.password)
        await log_in(second, account.email, account.password)
        await expect(second).to_have_url(path_is("/dashboard"))
        first_token = (await session_cookie(first))["value"]
        second_token = (await session_cookie(second))["value"]
        first_id, second_id = await session_id(first_token), await session_id(second_token)

        await visit(first, "/dashboard/settings")
        rows = first.locator(".session-row")
        await expect(rows).to_have_count(2)
        await expect(rows.first).to_contain_text("Chrome on Linux")
        current = first.locator(".session-row:has(.session-current)")
        await expect(current).to_have_count(1)
        await expect(current).to_have_attribute("data-session", str(first_id))
        await expect(current).to_contain_text("This browser")
        await screenshot(first, "sessions-two")

        other = first.locator(f'.session-row[data-session="{second_id}"]')
        await other.locator(".revoke-session").click()
        await expect(first.locator("#sessions-notice")).to_contain_text("signed out")
        await expect(rows).to_have_count(1)
        assert me(app_url, second_token) == 401
        assert me(app_url, first_token) == 200
        # The other browser finds itself signed out.
        await second.goto("/dashboard")
        await expect(second).to_have_url(path_is("/login"))

        # Revoking this browser's own session signs it out.
        await current.locator(".revoke-session").click()
        await expect(first).to_have_url(path_is("/login"))
        await expect(first.locator("#flash-notice")).to_contain_text("signed out")
        assert me(app_url, first_token) == 401
        await first.goto("/dashboard/settings")
        await expect(first).to_have_url(path_is("/login"))
