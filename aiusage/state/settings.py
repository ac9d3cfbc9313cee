"""/dashboard/settings: the signed-in user's own settings. Every handler resolves the user
from the session cookie on the server and changes only that user's row."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n import catalog
from aiusage.i18n.formatting import format_money
from aiusage.models.base import id_of
from aiusage.money import format_usd
from aiusage.services import alerts, client_ip, profile, reauth
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.user import leave_if_signed_out, require_user, signed_in_user


def _error_key(error: ServiceError) -> str:
    key = f"error.{error.code}"
    return key if key in catalog("en") else "common.error_generic"


class SettingsState(rx.State):
    email: str = ""
    threshold: str = ""  # plain dollars for the input (not localised); empty = the default
    default_threshold: str = ""
    marketing: bool = False  # wants product news (the opposite of marketing_opt_out)
    has_password: bool = True  # else (Google-only) no current password is asked
    # The last outcome: which section it belongs to and a catalog key.
    section: str = ""
    message: str = ""
    failed: bool = False

    def _say(self, section: str, key: str, failed: bool = False) -> None:
        self.section, self.message, self.failed = section, key, failed

    @rx.event
    async def load(self):
        self._say("", "")
        user = await signed_in_user(self)
        if user is None:
            return
        self.email = user.email
        self.threshold = (
            ""
            if user.low_balance_threshold_nano is None
            else format_usd(user.low_balance_threshold_nano).lstrip("$").replace(",", "")
        )
        self.default_threshold = format_money(
            alerts.default_threshold_nano(), await page_lang(self)
        )
        self.marketing = not user.marketing_opt_out
        self.has_password = bool(user.password_hash)

    @rx.event
    async def relocalize(self):
        self.default_threshold = format_money(
            alerts.default_threshold_nano(), await page_lang(self)
        )

    @rx.event
    @leave_if_signed_out()
    async def request_email_change(self, form: dict):
        user = await require_user(self)
        try:
            # The current password first: a session alone must not hand the account over.
            password, ip = str(form.get("current_password", "")), client_ip.from_router(self.router)
            await reauth.confirm_password(user, password, ip)
            async with session_scope() as db:
                await profile.request_email_change(db, user, str(form.get("new_email", "")))
        except ServiceError as error:
            self._say("email", _error_key(error), True)
            return None
        self._say("email", "settings.email.sent")
        return None

    @rx.event
    @leave_if_signed_out()
    async def save_threshold(self, form: dict):
        user = await require_user(self)
        raw = str(form.get("threshold", ""))
        try:
            async with session_scope() as db:
                nano = await profile.set_low_balance_threshold(db, id_of(user), raw)
        except ServiceError as error:
            self._say("alerts", _error_key(error), True)
            return None
        self.threshold = "" if nano is None else format_usd(nano).lstrip("$").replace(",", "")
        self._say("alerts", "settings.alerts.saved")
        return None

    @rx.event
    @leave_if_signed_out()
    async def set_marketing(self, wanted: bool):
        user = await require_user(self)
        async with session_scope() as db:
            await profile.set_marketing_opt_out(db, id_of(user), not wanted)
        self.marketing = bool(wanted)
        self._say("marketing", "settings.marketing.saved")
        return None


relocalize_on(routes.SETTINGS, SettingsState.relocalize)
