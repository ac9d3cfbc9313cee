"""Operators for the console's tests: an account with a console role and two-factor
sign-in on (the console's requirement), and a browser signed in as it.

Signing the browser in plants a real session cookie made by the sessions service: the
two-factor log-in itself is tested in tests/browser/test_two_factor.py."""

from __future__ import annotations

import time

import pyotp
from playwright.async_api import Page

from aiusage.db import session_scope
from aiusage.models import User
from aiusage.services import roles, sessions, twofactor

STEP = 30


async def enable_two_factor(user_id: int) -> str:
    """Turns two-factor sign-in on through the services; returns the secret."""
    async with session_scope() as db:
        user = await db.get(User, user_id)
        enrolment = await twofactor.begin_enrolment(db, user)
    if time.time() % STEP > STEP - 3:  # a code with time left in its step
        time.sleep(STEP - time.time() % STEP + 0.1)
    async with session_scope() as db:
        user = await db.get(User, user_id)
        await twofactor.confirm_enrolment(db, user, pyotp.TOTP(enrolment.secret).now())
    return enrolment.secret


async def grant_role(user_id: int, role: str | None) -> None:
    async with session_scope() as db:
        user = await db.get(User, user_id)
        await roles.set_role(db, roles.CLI, user, role)


async def make_operator(make_account, role: str = "admin", *, two_factor: bool = True):
    """An account (with credit and a proxy key, as make_account makes) holding `role`."""
    account = await make_account(usd="1")
    if two_factor:
        await enable_two_factor(account.id)
    await grant_role(account.id, role)
    return account


async def session_cookie(user_id: int) -> str:
    async with session_scope() as db:
        user = await db.get(User, user_id)
        return await sessions.create_session(db, user, user_agent="console test")


async def sign_in_as(page: Page, base_url: str, user_id: int) -> None:
    """The browser holds a fresh session of `user_id` (as after a full log-in)."""
    token = await session_cookie(user_id)
    await page.context.add_cookies(
        [
            {
                "name": sessions.COOKIE_NAME,
                "value": token,
                "url": base_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
