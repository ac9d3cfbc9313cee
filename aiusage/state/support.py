"""/dashboard/support: the contact form and the user's own recent messages."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n.formatting import format_datetime
from aiusage.models.base import id_of
from aiusage.services import support
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.settings import _error_key
from aiusage.state.user import signed_in_user


class SupportState(rx.State):
    messages: list[dict[str, str]] = []
    message: str = ""  # catalog key of the last outcome
    failed: bool = False

    async def _refresh(self, user_id: int) -> None:
        async with session_scope() as db:
            rows = await support.list_messages(db, user_id)
        lang = await page_lang(self)
        self.messages = [
            {
                "id": str(row.id),
                "when": format_datetime(row.created_at, lang),  # UTC, labelled
                "subject": row.subject,
            }
            for row in rows
        ]

    @rx.event
    async def load(self):
        self.message, self.failed = "", False
        user = await signed_in_user(self)
        if user is not None:
            await self._refresh(id_of(user))

    @rx.event
    async def relocalize(self):
        user = await signed_in_user(self)
        if user is not None:
            await self._refresh(id_of(user))

    @rx.event
    async def send(self, form: dict):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect("/login")
        try:
            async with session_scope() as db:
                await support.submit(
                    db, user, str(form.get("subject", "")), str(form.get("body", ""))
                )
        except ServiceError as error:
            self.message, self.failed = _error_key(error), True
            return None
        self.message, self.failed = "support.sent", False
        await self._refresh(id_of(user))
        return None


relocalize_on(routes.SUPPORT, SupportState.relocalize)
