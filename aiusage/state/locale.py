"""The page language: remembered in the browser (localStorage, not a cookie), stored on the
account when signed in, and taken from Accept-Language on a first visit."""

from __future__ import annotations

import reflex as rx
from sqlalchemy import update
from sqlmodel import col

from aiusage.db import session_scope
from aiusage.i18n import DEFAULT, LANGUAGES, catalog, negotiate
from aiusage.models import User
from aiusage.state.user import signed_in_user

# Page states that hold display strings formatted for the language (dates, numbers, money)
# register here the event that re-renders them: a language switch runs the current page's.
# (route, handler); a route ending in "*" matches every page below it.
_RELOCALIZE: list[tuple[str, object]] = []


def relocalize_on(route: str, handler: object) -> None:
    """Run `handler` (an event handler without arguments) on `route` after a language switch."""
    _RELOCALIZE.append((route, handler))


def _handlers_for(path: str) -> list:
    path = path.rstrip("/") or "/"
    return [
        handler
        for route, handler in _RELOCALIZE
        if path == route or (route.endswith("*") and path.startswith(route[:-1]))
    ]


async def page_lang(state: rx.State) -> str:
    """The page language seen from another state: 'en' or 'zh'."""
    locale = await state.get_state(LocaleState)
    return locale.lang if locale.lang in LANGUAGES else DEFAULT


class LocaleState(rx.State):
    lang: str = rx.LocalStorage("", name="aiusage_lang", sync=True)

    @rx.var
    def tr(self) -> dict[str, str]:
        return catalog(self.lang)

    @rx.var
    def current(self) -> str:
        return self.lang if self.lang in LANGUAGES else "en"

    def settle_language(self, account_locale: str | None) -> None:
        """On page load: keep the browser's choice, else the account's, else the header's."""
        if self.lang in LANGUAGES:
            return
        if account_locale in LANGUAGES:
            self.lang = account_locale
        else:
            self.lang = negotiate(self.router.headers.accept_language)

    @rx.event
    async def set_language(self, lang: str):
        if lang not in LANGUAGES:
            return
        self.lang = lang
        user = await signed_in_user(self)
        if user is not None:
            async with session_scope() as db:
                await db.execute(update(User).where(col(User.id) == user.id).values(locale=lang))
        # Values formatted on the server (dates, numbers, money) follow the new language.
        return _handlers_for(self.router.url.path)
