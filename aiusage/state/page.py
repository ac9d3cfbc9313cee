"""What the page states share, as state mixins, so each state holds only its own page.

`Outcome`: the outcome of the page's last action, as catalog keys of an error and a notice
(components/messages.py shows them).

`LocalTimes`: a page whose figures the server formats in the browser's time zone and the
page language. Its load returns `self._ask_tz()`: the browser reports its offset (a
client-side `new Date().getTimezoneOffset()`, sent back to `set_tz`), and the page is drawn
(`_redraw`); a language switch draws it again once it has loaded (`relocalize`, registered
with state/locale.py's `relocalize_on`).

`SignedInPage`: a page of the signed-in user's own rows, drawn by `_refresh(user)`. Its events
take the user with `_acting_user` (the last outcome cleared; signed out, the page forgets
its rows and the event ends), its load is `_load_rows`, and a language switch draws the rows
again (`relocalize`)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.event import EventSpec

from aiusage.models import User
from aiusage.services.usage import clamp_offset
from aiusage.state.user import SignedOut, signed_in_user

# The browser's offset east of UTC in minutes (getTimezoneOffset() is west, hence the minus).
TZ_SCRIPT = "-new Date().getTimezoneOffset()"


class Outcome(rx.State, mixin=True):
    error: str = ""  # catalog keys
    notice: str = ""


class LocalTimes(rx.State, mixin=True):
    tz_offset: int = 0  # minutes east of UTC
    loaded: bool = False

    def _ask_tz(self) -> EventSpec:
        """The load's last step: the browser's offset, answered to `set_tz`."""
        return rx.call_script(TZ_SCRIPT, callback=type(self).set_tz)

    async def _refresh(self) -> None:
        """The page's figures, formatted anew: each page's own."""
        raise NotImplementedError

    async def _redraw(self, *, language: bool) -> Any:  # noqa: ARG002 - a page's own may use it
        """After the browser's offset (`language` False) or a language switch: the page's
        figures anew (a page with more to redo, or an event to return, says so here)."""
        await self._refresh()

    @rx.event
    async def set_tz(self, offset: int | str):
        self.tz_offset = clamp_offset(offset)
        return await self._redraw(language=False)

    @rx.event
    async def relocalize(self):
        if self.loaded:
            await self._redraw(language=True)


class SignedInPage(rx.State, mixin=True):
    async def _refresh(self, user: User) -> None:
        """The page's rows, the user's own only: each page's own."""
        raise NotImplementedError

    def _clear_outcome(self) -> None:
        """The last action's messages, cleared as the next event begins: each page's own."""

    def _forget(self) -> None:
        """What the page drops when its visitor turns out to be signed out: each page's own."""

    async def _acting_user(self) -> User:
        """The signed-in user an event acts for, the last outcome cleared. Signed out, the
        page forgets what it showed and SignedOut ends the event (`leave_if_signed_out`
        sends the browser to log in)."""
        self._clear_outcome()
        user = await signed_in_user(self)
        if user is None:
            self._forget()
            raise SignedOut
        return user

    async def _load_rows(self) -> None:
        """The page's load: the user's rows drawn anew. Signed out, nothing is drawn (the
        route's load_private, before this, sends the visitor to log in and back)."""
        try:
            user = await self._acting_user()
        except SignedOut:
            return
        await self._refresh(user)

    @rx.event
    async def relocalize(self):
        """After a language switch: the rows again, the outcome shown left as it is."""
        user = await signed_in_user(self)
        if user is not None:
            await self._refresh(user)
