"""Who is signed in, resolved server-side from the websocket request's cookie header.

The cookie never reaches the browser's state: Reflex keeps `router.headers.cookie` on the
server. Every handler that touches account data resolves the user itself (state/user.py)."""

from __future__ import annotations

import reflex as rx

from aiusage.i18n import catalog
from aiusage.models import User
from aiusage.services import login_flash, redirects
from aiusage.state.locale import LocaleState
from aiusage.state.user import signed_in_user


def _message_key(kind: str, code: str) -> str:
    if not code:
        return ""
    key = f"{kind}.{code}"
    return key if key in catalog("en") else "common.error_generic"


class SessionState(rx.State):
    """The signed-in user's display data (no secrets), the page's flash message keys, and
    what the log-in forms need again: the address typed into a refused log-in (never the
    password) and the page to go to after signing in."""

    email: str = ""
    signed_in: bool = False
    flash_error: str = ""  # a catalog key
    flash_notice: str = ""
    typed_email: str = ""
    next_path: str = ""  # a checked same-site path, or ""

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
        """on_load of public pages: flash messages, language, whether to offer the dashboard,
        and for the log-in forms the kept address and the page asked for."""
        await self._load()
        self.typed_email = login_flash.from_cookie_header(self.router.headers.cookie)
        self.next_path = redirects.safe_next(self.router.url.query_parameters.get("next")) or ""

    @rx.event
    async def load_private(self):
        """on_load of /dashboard pages: signed-out visitors go to the log-in page, which
        brings them back here afterwards."""
        if await self._load() is None:
            url = self.router.url
            path = url.path.rstrip("/") or "/"  # the static server's trailing slash
            asked_for = f"{path}?{url.query}" if url.query else path
            return rx.redirect(redirects.login_path(asked_for))
        return None
