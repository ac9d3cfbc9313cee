"""The support inbox (/admin/support): the messages and their replies as display strings,
and the operator's actions (reply, close, reopen) handed to services/support_inbox.py.

Whatever the browser sends (a message id, a reply) is only a request: the service checks the
operator's role, that the message exists, and the reply's text."""

from __future__ import annotations

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n import LANGUAGES
from aiusage.i18n.formatting import format_datetime
from aiusage.services import support_inbox
from aiusage.services.errors import ServiceError
from aiusage.state.console import ConsoleState
from aiusage.state.locale import page_lang, relocalize_on

ROUTE = "/admin/support"


def parse_id(value: object) -> int | None:
    """A row id sent by the browser, or None when it is not one (a list, text, a 40-digit
    number SQLite cannot hold)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        return None
    return int(text)


def message_view(m: support_inbox.MessageView, lang: str) -> dict[str, str]:
    return {
        "id": str(m.id),
        "email": m.email,
        "user_id": str(m.user_id or ""),
        "user_link": f"/admin/users/{m.user_id}" if m.user_id else "",
        "language": LANGUAGES.get(m.locale, m.locale),
        "subject": m.subject,
        "body": m.body,
        "source_key": f"console.support.source.{m.source}"
        if m.source in ("form", "assistant")
        else "console.support.source.form",
        "status": m.status,
        "when": format_datetime(m.created_at, lang),
        "closed_when": format_datetime(m.closed_at, lang),
        "reply_count": str(len(m.replies)),
    }


def reply_view(r: support_inbox.ReplyView, lang: str) -> dict[str, str]:
    return {
        "id": str(r.id),
        "when": format_datetime(r.created_at, lang),
        "author": r.author or "—",
        "body": r.body,
    }


class ConsoleSupportState(ConsoleState):
    status_filter: str = support_inbox.OPEN
    rows: list[dict[str, str]] = []
    # Each shown message's replies, by message id (every shown id has an entry).
    replies: dict[str, list[dict[str, str]]] = {}
    has_older: bool = False
    paged: bool = False  # showing older messages than the newest page
    loaded: bool = False
    # The page shown: messages older than this id (None: the newest).
    _before_id: int | None = None

    async def _reload(self) -> None:
        actor = await self.operator()
        if actor is None:
            return
        lang = await page_lang(self)
        try:
            async with session_scope() as db:
                found = await support_inbox.messages(
                    db,
                    actor,
                    self.status_filter,
                    before_id=self._before_id,
                    limit=support_inbox.PAGE_SIZE + 1,
                )
        except ServiceError as error:
            self.outcome(error)
            return
        shown = found[: support_inbox.PAGE_SIZE]
        self.has_older = len(found) > len(shown)
        self.paged = self._before_id is not None
        self.rows = [message_view(m, lang) for m in shown]
        self.replies = {str(m.id): [reply_view(r, lang) for r in m.replies] for m in shown}
        self.loaded = True

    @rx.event
    async def load(self):
        self.error = self.notice = ""
        self.status_filter = support_inbox.OPEN
        self._before_id = None
        await self._reload()

    @rx.event
    async def relocalize(self):
        if self.loaded:
            await self._reload()

    @rx.event
    async def set_status_filter(self, value: str | list[str]):
        if not isinstance(value, str) or value not in support_inbox.FILTERS:
            return
        self.error = self.notice = ""
        self.status_filter = value
        self._before_id = None
        await self._reload()

    @rx.event
    async def older(self):
        if self.has_older and self.rows:
            self._before_id = int(self.rows[-1]["id"])
            await self._reload()

    @rx.event
    async def newest(self):
        self._before_id = None
        await self._reload()

    @rx.event
    async def send_reply(self, form: dict):
        actor = await self.operator()
        if actor is None or not isinstance(form, dict):
            return None
        message_id = parse_id(form.get("message_id"))
        try:
            if message_id is None:
                raise ServiceError("support_message_not_found", "There is no such message.")
            async with session_scope() as db:
                await support_inbox.reply(db, actor, message_id, form.get("body"))
        except ServiceError as error:
            self.outcome(error)  # the text stays in the form, to be corrected
            return None
        self.outcome(notice="console.support.sent")
        await self._reload()
        # The field is the browser's (not bound to the state, so typing sends nothing); an id
        # from the list has no ref of its own, so it is found by its element id. `message_id`
        # is an int: nothing of the browser's goes into the script.
        return rx.call_script(
            f"(el => {{ if (el) el.value = ''; }})(document.getElementById('reply-{message_id}'))"
        )

    @rx.event
    async def set_closed(self, message_id: str, closed: bool):
        actor = await self.operator()
        if actor is None:
            return
        found = parse_id(message_id)
        try:
            if found is None:
                raise ServiceError("support_message_not_found", "There is no such message.")
            async with session_scope() as db:
                changed = await support_inbox.set_closed(db, actor, found, closed is True)
        except ServiceError as error:
            self.outcome(error)
            return
        if not changed:
            notice = "console.support.unchanged"
        else:
            notice = "console.support.closed" if closed is True else "console.support.reopened"
        self.outcome(notice=notice)
        await self._reload()


relocalize_on(ROUTE, ConsoleSupportState.relocalize)
