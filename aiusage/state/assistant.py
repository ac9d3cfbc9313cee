"""The onsite assistant's panel: thin, the work is in services/assistant.py.

The conversation's handle stays on the server (a backend-only var: the browser never sees
it, so no other tab can present it). The turns are not kept in this state either: `turns`
reads them from `assistant_conversations` while the panel is open (a computed var without a
cache, which the state manager does not store), so a conversation's text is stored only in
its table. A question runs in the background, so the tab stays usable while the model
answers."""

from __future__ import annotations

from typing import Any

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.services import assistant, assistant_platform, client_ip
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang
from aiusage.state.page import Outcome
from aiusage.state.user import signed_in_user


def error_key(error: ServiceError) -> str:
    """The catalog key that explains a refusal (the assistant's own, else the shared one)."""
    for key in (f"assistant.error.{error.code}", f"error.{error.code}"):
        if key in catalog("en"):
            return key
    return "common.error_generic"


def _field(form: Any, name: str) -> object:
    return form.get(name) if isinstance(form, dict) else None


class AssistantState(Outcome, rx.State):
    is_open: bool = False
    pending: bool = False  # a question is being answered
    handing_over: bool = False  # the hand-over form is shown
    _handle: str = ""
    _user_id: int | None = None  # the account the conversation belongs to (None: signed out)

    @rx.var(cache=False)
    async def turns(self) -> list[dict[str, str]]:
        if not self.is_open or not self._handle:
            return []
        try:
            async with assistant.quiet_db(), session_scope() as db:
                return await assistant.transcript(db, self._handle, self._user_id)
        except ServiceError:
            return []

    @rx.event
    def set_open(self, value: bool):
        self.is_open = bool(value)

    @rx.event
    def new_conversation(self):
        self._handle, self.error, self.notice, self.handing_over = "", "", "", False

    @rx.event
    def show_handover(self):
        self.handing_over, self.error, self.notice = True, "", ""

    @rx.event
    def hide_handover(self):
        self.handing_over = False

    def _client(self) -> str:
        return client_ip.limit_key(client_ip.from_router(self.router))

    @rx.event(background=True)
    async def ask(self, form: dict):
        async with self:
            if self.pending or not assistant_platform.enabled():
                return
            user = await signed_in_user(self)
            user_id = user.id if user is not None else None
            handle = self._handle if self._user_id == user_id else ""
            lang = await page_lang(self)
            client = self._client()
            self.pending, self.error, self.notice, self.handing_over = True, "", "", False
        try:
            handle = await assistant.record_question(
                handle, user_id, _field(form, "question"), client
            )
            async with self:
                self._handle, self._user_id = handle, user_id
            await assistant.answer(handle, user_id, lang)
        except ServiceError as error:
            async with self:
                self.error = error_key(error)
        finally:
            async with self:
                self.pending = False

    @rx.event
    async def hand_over(self, form: dict):
        if not self._handle:
            self.error = "assistant.error.nothing_to_hand_over"
            return
        user = await signed_in_user(self)
        user_id = user.id if user is not None else None
        try:
            async with assistant.quiet_db(), session_scope() as db:
                await assistant.hand_over(
                    db,
                    self._handle if self._user_id == user_id else "",
                    user,
                    str(_field(form, "email") or ""),
                    await page_lang(self),
                    self._client(),
                )
        except ServiceError as error:
            self.error = error_key(error)
            return
        # The conversation is with support now; the next question starts a new one.
        self._handle, self.handing_over = "", False
        self.error, self.notice = "", "assistant.handed_over"
