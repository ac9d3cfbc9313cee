"""The account's sign-in methods (password, Google) and removing one of them.

Every event resolves the signed-in user from the cookie on the server and scopes the change
by that user's id: a method id sent by the browser that is not this user's is "not found"."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.db import session_scope, write_lock
from aiusage.i18n.formatting import format_date
from aiusage.models import User
from aiusage.models.base import id_of
from aiusage.services import identities
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import Outcome, SignedInPage
from aiusage.state.user import LOG_IN_AGAIN, leave_if_signed_out

_KIND_KEYS = {
    identities.PASSWORD_METHOD: "identity.methods.password",
    identities.GOOGLE: "identity.methods.google",
}


class SignInMethodsState(SignedInPage, Outcome, rx.State):
    # What the page shows: id, catalog key of the kind, detail (an email or a catalog key).
    methods: list[dict[str, str]] = []

    @rx.var
    def removable(self) -> bool:
        return len(self.methods) > 1

    async def _refresh(self, user: User) -> None:
        async with session_scope() as db:
            rows = await identities.list_methods(db, id_of(user))
        lang = await page_lang(self)
        self.methods = [
            {
                "id": method.id,
                "kind_key": _KIND_KEYS.get(method.kind, method.kind),
                "detail": method.detail,
                "detail_key": "identity.methods.password_detail" if not method.detail else "",
                "added": format_date(method.created_at, lang),  # UTC day, labelled
            }
            for method in rows
        ]

    def _clear_outcome(self) -> None:
        self.error = self.notice = ""

    def _forget(self) -> None:
        self.methods = []

    @rx.event
    async def load(self):
        await self._load_rows()

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def remove(self, method_id: str):
        user = await self._acting_user()
        try:
            async with write_lock(), session_scope() as db:
                await identities.remove_method(db, id_of(user), str(method_id))
        except ServiceError as error:
            self.error = f"error.{error.code}"
        else:
            self.notice = "identity.methods.removed"
        await self._refresh(user)
        return None


relocalize_on(routes.SIGN_IN_METHODS, SignInMethodsState.relocalize)
