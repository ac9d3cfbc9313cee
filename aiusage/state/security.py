"""The settings page's security sections: two-factor sign-in and the account's sessions.

Every event resolves the signed-in user from the cookie on the server and acts on that
user's rows only: a session id sent by the browser that is not this user's is "not found".
Enrolling and turning two-factor off ask the password again (services/reauth.py) when the
account has one; a Google-only account enrols with no password (the confirming code proves
the authenticator) and turns it off with a code alone.

The TOTP secret is in this state only while enrolling (it must be shown once, as a QR code
and as text); confirming or leaving the page clears it. Backup codes likewise stay only
until the user says they are saved or leaves the page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import reflex as rx
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage import routes
from aiusage.db import session_scope, write_lock
from aiusage.i18n import catalog, t
from aiusage.i18n.formatting import format_date, format_datetime
from aiusage.models import User
from aiusage.models.base import id_of
from aiusage.services import client_ip, reauth, twofactor
from aiusage.services import sessions as browser_sessions
from aiusage.services.errors import ServiceError
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import SignedInPage
from aiusage.state.user import LOG_IN_AGAIN, leave_if_signed_out

T = TypeVar("T")


def _error_key(error: ServiceError) -> str:
    key = f"error.{error.code}"
    return key if key in catalog("en") else "common.error_generic"


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def device_label(user_agent: str, lang: str) -> str:
    browser, system = browser_sessions.describe_user_agent(user_agent)
    if not browser and not system:
        return t(lang, "security.sessions.unknown_device")
    return t(
        lang,
        "security.sessions.device",
        browser=browser or t(lang, "security.sessions.unknown_browser"),
        system=system or t(lang, "security.sessions.unknown_system"),
    )


class SecurityState(SignedInPage, rx.State):
    # Two-factor sign-in.
    two_factor_on: bool = False
    two_factor_status: str = ""  # "On since …; N backup codes left", formatted
    has_password: bool = True  # else (Google-only) no password is asked again
    enrol_qr: str = ""  # an SVG data URL, only while enrolling
    enrol_secret: str = ""  # the same secret as text, only while enrolling
    new_backup_codes: list[str] = []  # shown once, right after enrolling
    tf_error: str = ""  # catalog keys
    tf_notice: str = ""
    # Sessions: id, device label, created and last-used texts, "1" for this browser's own.
    sessions: list[dict[str, str]] = []
    sessions_error: str = ""
    sessions_notice: str = ""

    @rx.var
    def enrolling(self) -> bool:
        return self.enrol_secret != ""

    def _clear_secrets(self) -> None:
        self.enrol_qr = self.enrol_secret = ""

    def _token(self) -> str | None:
        return browser_sessions.token_from_cookie_header(self.router.headers.cookie)

    async def _refresh(self, user: User) -> None:
        lang = await page_lang(self)
        async with session_scope() as db:
            status = await twofactor.status(db, id_of(user))
            rows = await browser_sessions.list_sessions(db, id_of(user), self._token())
        self.has_password = bool(user.password_hash)
        self.two_factor_on = status.enabled
        self.two_factor_status = (
            t(
                lang,
                "security.two_factor.status_on",
                date=format_date(status.enabled_at, lang),
                count=status.backup_codes_left,
            )
            if status.enabled
            else ""
        )
        self.sessions = [
            {
                "id": str(row.id),
                "device": device_label(row.user_agent, lang),
                "created": t(
                    lang,
                    "security.sessions.created",
                    when=format_datetime(row.created_at, lang),
                ),
                "last_used": t(
                    lang,
                    "security.sessions.last_used",
                    when=format_datetime(row.last_used_at or row.created_at, lang),
                ),
                "current": "1" if row.current else "",
            }
            for row in rows
        ]

    def _clear_outcome(self) -> None:
        self.tf_error = self.tf_notice = self.sessions_error = self.sessions_notice = ""

    def _forget(self) -> None:
        self._clear_secrets()
        self.new_backup_codes = []
        self.sessions = []

    @rx.event
    async def load(self):
        self._clear_secrets()
        self.new_backup_codes = []
        await self._load_rows()

    # --- two-factor sign-in ------------------------------------------------------------------

    async def _with_password(
        self, user: User, form: dict, change: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """A two-factor change the current password is asked again for (wrong ones count
        against the log-in throttle; a Google-only account has none to ask), made under the
        write lock once the password is right."""
        await reauth.confirm_password(
            user, str(form.get("password", "")), client_ip.from_router(self.router)
        )
        async with write_lock(), session_scope() as db:
            return await change(db)

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def start_enrolment(self, form: dict):
        user = await self._acting_user()
        try:
            enrolment = await self._with_password(
                user, form, lambda db: twofactor.begin_enrolment(db, user)
            )
        except ServiceError as error:
            self.tf_error = _error_key(error)
            return None
        self.enrol_qr = enrolment.qr_data_url
        self.enrol_secret = _grouped(enrolment.secret)
        return None

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def confirm_enrolment(self, form: dict):
        user = await self._acting_user()
        try:
            async with write_lock(), session_scope() as db:
                codes = await twofactor.confirm_enrolment(db, user, str(form.get("code", "")))
        except ServiceError as error:
            self.tf_error = _error_key(error)
            if error.code == "two_factor_enrolment_expired":
                self._clear_secrets()
            return None
        self._clear_secrets()
        self.new_backup_codes = codes
        self.tf_notice = "security.two_factor.turned_on"
        await self._refresh(user)
        return None

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def cancel_enrolment(self):
        self._clear_secrets()
        user = await self._acting_user()
        async with write_lock(), session_scope() as db:
            await twofactor.cancel_enrolment(db, id_of(user))
        return None

    @rx.event
    def backup_codes_saved(self):
        self.new_backup_codes = []

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def disable(self, form: dict):
        user = await self._acting_user()
        try:
            code = str(form.get("code", ""))
            await self._with_password(user, form, lambda db: twofactor.disable(db, user, code))
        except ServiceError as error:
            self.tf_error = _error_key(error)
            await self._refresh(user)
            return None
        self.new_backup_codes = []
        self.tf_notice = "security.two_factor.turned_off"
        await self._refresh(user)
        return None

    # --- sessions ------------------------------------------------------------------------------

    @rx.event
    @leave_if_signed_out(LOG_IN_AGAIN)
    async def revoke_session(self, session_id: str):
        user = await self._acting_user()
        raw = str(session_id)
        try:
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
                raise ServiceError("session_not_found", "This session has already ended.")
            async with write_lock(), session_scope() as db:
                was_current = await browser_sessions.revoke_session(
                    db, id_of(user), int(raw), self._token()
                )
        except ServiceError as error:
            self.sessions_error = _error_key(error)
            await self._refresh(user)
            return None
        if was_current:  # this browser's own session: it is signed out now
            self.sessions = []
            return rx.redirect("/login?notice=signed_out")
        self.sessions_notice = "security.sessions.revoked"
        await self._refresh(user)
        return None


relocalize_on(routes.SETTINGS, SecurityState.relocalize)
