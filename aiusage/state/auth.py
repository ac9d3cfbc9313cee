"""Who is signed in, resolved server-side from the websocket request's cookie header.

The cookie never reaches the browser's state: Reflex keeps `router.headers.cookie` on the
server. Every handler that touches account data calls `current_user()` itself."""

from __future__ import annotations

import reflex as rx

from aiusage.db import session_scope
from aiusage.messages import error_text, notice_text
from aiusage.models import User
from aiusage.services.sessions import token_from_cookie_header, user_for_token


class SessionState(rx.State):
    """The signed-in user's display data (no secrets) and the page's flash message."""

    email: str = ""
    signed_in: bool = False
    flash_error: str = ""
    flash_notice: str = ""

    async def current_user(self) -> User | None:
        token = token_from_cookie_header(self.router.headers.cookie)
        async with session_scope() as db:
            return await user_for_token(db, token)

    def _read_flash(self) -> None:
        query = self.router.url.query_parameters
        self.flash_error = error_text(query.get("error", ""))
        self.flash_notice = notice_text(query.get("notice", ""))

    @rx.event
    async def load_public(self):
        """on_load of public pages: flash messages, and whether to offer the dashboard."""
        self._read_flash()
        user = await self.current_user()
        self.signed_in = user is not None
        self.email = user.email if user else ""

    @rx.event
    async def load_private(self):
        """on_load of /dashboard pages: signed-out visitors go to the log-in page."""
        self._read_flash()
        user = await self.current_user()
        if user is None:
            self.signed_in = False
            self.email = ""
            return rx.redirect("/login")
        self.signed_in = True
        self.email = user.email
        return None
