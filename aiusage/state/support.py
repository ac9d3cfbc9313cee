"""/dashboard/support: the contact form and the user's own recent messages."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n.formatting import format_datetime
from aiusage.models import User
from aiusage.models.base import id_of
from aiusage.services import support
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import SignedInPage
from aiusage.state.settings import _error_key
from aiusage.state.user import leave_if_signed_out, require_user


class SupportState(SignedInPage, rx.State):
    messages: list[dict[str, str]] = []
    message: str = ""  # catalog key of the last outcome
    failed: bool = False

    async def _refresh(self, user: User) -> None:
        async with session_scope() as db:
            rows = await support.list_messages(db, id_of(user))
        lang = await page_lang(self)
        self.messages = [
            {
                "id": str(row.id),
                "when": format_datetime(row.created_at, lang),  # UTC, labelled
                "subject": row.subject,
            }
            for row in rows
        ]

    def _clear_outcome(self) -> None:
        self.message, self.failed = "", False

    @rx.event
    async def load(self):
        await self._load_rows()

    @rx.event
    @leave_if_signed_out()
    async def send(self, form: dict):
        user = await require_user(self)
        try:
            async with session_scope() as db:
                await support.submit(
                    db, user, str(form.get("subject", "")), str(form.get("body", ""))
                )
        except ServiceError as error:
            self.message, self.failed = _error_key(error), True
            return None
        self.message, self.failed = "support.sent", False
        await self._refresh(user)
        return None


relocalize_on(routes.SUPPORT, SupportState.relocalize)
