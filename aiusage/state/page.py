"""What the page states share, as state mixins, so each state holds only its own page.

`Outcome`: the outcome of the page's last action, as catalog keys of an error and a notice
(components/messages.py shows them).

`LocalTimes`: a page whose figures the server formats in the browser's time zone and the
page language. Its load returns `self._ask_tz()`: the browser reports its offset (a
client-side `new Date().getTimezoneOffset()`, sent back to `set_tz`), and the page is drawn
(`_redraw`); a language switch draws it again once it has loaded (`relocalize`, registered
with state/locale.py's `relocalize_on`)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.event import EventSpec

from aiusage.services.usage import clamp_offset

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
