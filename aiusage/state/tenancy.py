"""A tab's state belongs to one signed-in session.

Reflex keys state by the tab's token, not by who is signed in: a tab that logs out and in
as someone else (a shared computer), or any client that presents an old tab token with
another cookie, would be sent the previous user's keys, usage and email with its first
snapshot. Before every event — the hydrate that sends that snapshot included — this
middleware compares the session the request's cookie names with the one the tab's state
was filled for; when they differ (another user, a new session, or none: log-out), every
state of the app is reset to its defaults first. Only a digest of the session token is
kept, in a backend-only var: the token itself never enters state."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import reflex as rx
from reflex.middleware import Middleware

from aiusage.services.sessions import token_from_cookie_header
from aiusage.state.locale import LocaleState

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState, StateUpdate
    from reflex_base.event import Event


class TenantState(rx.State):
    """Whose data the tab's states hold: the digest of the session they were filled for."""

    _session_digest: str = ""


def session_digest(cookie_header: str | None) -> str:
    token = token_from_cookie_header(cookie_header)
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def account_states() -> list[type[BaseState]]:
    """Every state class of this app (not Reflex's own) but the tenancy marker and the page
    language (a preference of the browser, kept in its localStorage, not account data)."""
    found: list[type[BaseState]] = []
    pending = list(rx.State.get_substates())
    while pending:
        cls = pending.pop()
        pending.extend(cls.get_substates())
        if cls.__module__.startswith("aiusage.") and cls not in (TenantState, LocaleState):
            found.append(cls)
    return found


class TenantBinding(Middleware):
    # Reflex calls middleware with these keyword arguments, used or not.
    async def preprocess(
        self,
        app: App,  # noqa: ARG002
        state: BaseState,
        event: Event,  # noqa: ARG002
    ) -> StateUpdate | None:
        root = state._get_root_state()
        digest = session_digest(root.router.headers.cookie)
        tenant = await root.get_state(TenantState)
        if tenant._session_digest != digest:
            for cls in account_states():
                (await root.get_state(cls)).reset()
            tenant._session_digest = digest
        return None
