"""Resolving the signed-in user inside a Reflex event, from the websocket's cookie header.

A handler that acts for the user takes it with `require_user`, and is wrapped in
`leave_if_signed_out`: a signed-out visitor (no cookie, a session ended or expired, an account
closed or suspended) is sent to log in, and nothing after the check runs. Whatever the handler
changed before asking (messages cleared, a dialog closed) is sent along, as before."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import reflex as rx

from aiusage.db import session_scope
from aiusage.models import User
from aiusage.services.sessions import token_from_cookie_header, user_for_token

LOG_IN = "/login"
LOG_IN_AGAIN = "/login?error=signed_out"  # the security pages say why


class SignedOut(Exception):
    """No signed-in user behind the event: `leave_if_signed_out` turns it into the redirect."""


async def signed_in_user(state: rx.State) -> User | None:
    """The account behind the request's `bai_session` cookie, checked against the database
    on every call (a signed-out or closed session gets None at once)."""
    token = token_from_cookie_header(state.router.headers.cookie)
    async with session_scope() as db:
        return await user_for_token(db, token)


async def require_user(state: rx.State) -> User:
    """The signed-in user; SignedOut when there is none (see `leave_if_signed_out`)."""
    user = await signed_in_user(state)
    if user is None:
        raise SignedOut
    return user


def leave_if_signed_out(to: str = LOG_IN) -> Callable:
    """Wraps an event handler (a coroutine or an async generator) so that SignedOut, raised
    by `require_user` inside it, answers with a redirect to `to` instead. The handler's
    signature and annotations are kept (Reflex reads them for the event's arguments)."""

    def wrap(handler: Callable) -> Callable:
        if inspect.isasyncgenfunction(handler):

            @functools.wraps(handler)
            async def events(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                inner = handler(*args, **kwargs)
                try:
                    async for event in inner:
                        yield event
                except SignedOut:
                    yield rx.redirect(to)
                finally:
                    await inner.aclose()

            return events

        @functools.wraps(handler)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(*args, **kwargs)
            except SignedOut:
                return rx.redirect(to)

        return call

    return wrap
