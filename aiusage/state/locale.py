"""The page language: remembered in the browser (localStorage, not a cookie), stored on the
account when signed in, and taken from Accept-Language on a first visit."""

from __future__ import annotations

import reflex as rx
from sqlalchemy import update

from aiusage.db import session_scope
from aiusage.i18n import LANGUAGES, catalog, negotiate
from aiusage.models import User
from aiusage.state.user import signed_in_user


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
                await db.execute(update(User).where(User.id == user.id).values(locale=lang))
