"""Who is signed in, resolved server-side from the websocket request's cookie header.

The cookie never reaches the browser's state: Reflex keeps `router.headers.cookie` on the
server. Every handler that touches account data resolves the user itself (state/user.py)."""

from __future__ import annotations

import reflex as rx

from aiusage.i18n import catalog
from aiusage.models import User
from aiusage.state.locale import LocaleState
from aiusage.state.user import signed_in_user


def _message_key(kind: str, code: str) -> str:
    if not code:
        return ""
    key = f"{kind}.{code}"
    return key if key in catalog("en") else "common.error_generic"


class SessionState(rx.State):
    """The signed-in user's display data (no secrets) and the page's flash message keys."""

    email: str = ""
    signed_in: bool = False
    flash_error: str = ""  # a catalog key
    flash_notice: str = ""

    async def current_user(self) -> User | None:
        return await signed_in_user(self)

    async def _load(self) -> User | None:
        query = self.router.url.query_parameters
        self.flash_error = _message_key("error", query.get("error", ""))
        self.flash_notice = _message_key("notice", query.get("notice", ""))
        user = await self.current_user()
        self.signed_in = user is not None
        self.email = user.email if user else ""
        locale = await self.get_state(LocaleState)
        locale.settle_language(user.locale if user else None)
        return user

    @rx.event
    async def load_public(self):
        """on_load of public pages: flash messages, language, whether to offer the dashboard."""
        await self._load()

    @rx.event
    async def load_private(self):
        """on_load of /dashboard pages: signed-out visitors go to the log-in page."""
        if await self._load() is None:
            return rx.redirect("/login")
        return None
