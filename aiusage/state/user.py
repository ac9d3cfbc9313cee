"""Resolving the signed-in user inside a Reflex event, from the websocket's cookie header."""

from __future__ import annotations

import reflex as rx

from aiusage.db import session_scope
from aiusage.models import User
from aiusage.services.sessions import token_from_cookie_header, user_for_token


async def signed_in_user(state: rx.State) -> User | None:
    """The account behind the request's `bai_session` cookie, checked against the database
    on every call (a signed-out or closed session gets None at once)."""
    token = token_from_cookie_header(state.router.headers.cookie)
    async with session_scope() as db:
        return await user_for_token(db, token)
