"""Billing page state: balance, top-up options, history, alert and auto top-up settings.

Every handler resolves the signed-in user from the cookie itself and only touches that
user's rows. Nothing secret is held: no Stripe ids, only the card's brand and last four.
Times are in the browser's offset, reported on each page load (state/page.py)."""

from __future__ import annotations

import asyncio

import reflex as rx

from aiusage import routes
from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.i18n.formatting import format_date, format_money, format_number
from aiusage.models.base import id_of
from aiusage.money import rounded_usd, usd_to_nano
from aiusage.services import alerts, billing_view, profile, stripe_client, topups
from aiusage.services.errors import ServiceError
from aiusage.state.dashboard import local_time
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import LocalTimes, Outcome
from aiusage.state.user import leave_if_signed_out, require_user, signed_in_user

KIND_KEYS = {
    "topup": "billing.kind.topup",
    "usage": "billing.history.usage_day",
    "refund": "billing.kind.refund",
    "adjustment": "billing.kind.adjustment",
    "grant": "billing.kind.grant",
}


def _usd_text(nano: int | None) -> str:
    if nano is None:
        return ""
    return str(rounded_usd(nano))


class BillingState(LocalTimes, Outcome, rx.State):
    configured: bool = False
    balance: str = ""
    negative: bool = False
    card: str = ""
    presets: list[dict[str, str]] = []  # value (plain dollars, the form's) and label
    min_usd: str = ""
    max_usd: str = ""
    threshold: str = ""
    auto_enabled: bool = False
    auto_below: str = ""
    auto_amount: str = ""
    auto_interval: str = ""
    auto_blocked: str = ""  # why auto top-up cannot be set: not_configured, no_card or ""
    history: list[dict[str, str]] = []

    async def _refresh(self) -> None:
        user = await signed_in_user(self)
        if user is None:
            return
        settings = get_settings()
        lang = await page_lang(self)
        self.configured = stripe_client.configured()
        self.presets = [
            {
                "value": str(p),
                "label": format_money(usd_to_nano(p), lang, 0 if p == p.to_integral() else 2),
            }
            for p in topups.presets_usd()
        ]
        self.min_usd = format_money(usd_to_nano(settings.topup_min_usd), lang)
        self.max_usd = format_money(usd_to_nano(settings.topup_max_usd), lang)
        self.balance = format_money(user.balance_nano, lang)
        self.negative = user.balance_nano < 0
        self.card = (
            f"{(user.card_brand or '').upper()} •••• {user.card_last4}" if user.card_last4 else ""
        )
        self.threshold = _usd_text(alerts.threshold_nano(user))
        self.auto_enabled = user.auto_topup_enabled
        self.auto_below = _usd_text(user.auto_topup_below_nano)
        self.auto_amount = _usd_text(user.auto_topup_amount_nano)
        self.auto_interval = format_number(settings.auto_topup_min_interval_minutes, lang)
        self.auto_blocked = billing_view.auto_topup_blocker(user) or ""
        tz = self.tz_offset
        async with session_scope() as db:
            rows = await billing_view.history(db, id_of(user), tz)
        # Usage is rolled up per local day: its row shows that day, the others their moment.
        self.history = [
            {
                "date": format_date(row.at, lang, tz)
                if row.kind == "usage"
                else local_time(row.at, tz, lang, seconds=False),
                "kind": KIND_KEYS.get(row.kind, "billing.kind.adjustment"),
                "detail": f"× {format_number(row.requests, lang)}"
                if row.kind == "usage"
                else row.description,
                "amount": ("+" if row.amount_nano > 0 else "")
                + format_money(row.amount_nano, lang, 4),
                "balance": format_money(row.balance_after_nano, lang, 4),
            }
            for row in rows
        ]
        self.loaded = True

    @rx.event
    def load(self):
        self.error = self.notice = ""
        self.loaded = False
        return self._ask_tz()

    @rx.event
    @leave_if_signed_out()
    async def save_threshold(self, form: dict):
        user = await require_user(self)
        try:
            async with write_lock(), session_scope() as db:
                await profile.set_low_balance_threshold(
                    db, id_of(user), str(form.get("threshold", ""))
                )
        except ServiceError:
            self.error, self.notice = "billing.error.amount", ""
            return None
        self.error, self.notice = "", "billing.alert.saved"
        await self._refresh()
        return None

    @rx.event
    @leave_if_signed_out()
    async def save_auto(self, form: dict):
        user = await require_user(self)
        enabled = str(form.get("enabled", "")) in ("on", "true", "1")
        try:
            async with write_lock(), session_scope() as db:
                await topups.set_auto_topup(
                    db, user, enabled, str(form.get("below", "")), str(form.get("amount", ""))
                )
        except ServiceError as error:
            self.error, self.notice = f"billing.error.{error.code}", ""
            return None
        self.error, self.notice = "", "billing.auto.saved"
        await self._refresh()
        if enabled:  # already below: top up now rather than at the next request
            topups.schedule_auto_topups({id_of(user)})
        return None


class CheckoutStatusState(rx.State):
    """The success page: 'pending' until the webhook has credited the session."""

    status: str = "pending"  # pending | credited | unknown

    @rx.event(background=True)
    async def watch(self):
        async with self:
            self.status = "pending"
            session_id = self.router.url.query_parameters.get("session_id", "")
            user = await signed_in_user(self)
        if user is None or not session_id:
            async with self:
                self.status = "unknown"
            return
        for _ in range(300):  # about five minutes
            status = await topups.checkout_status(id_of(user), session_id)
            async with self:
                self.status = status or "unknown"
            if status != "pending":
                return
            await asyncio.sleep(1)


class BalanceBannerState(rx.State):
    """The dashboard's low-balance banner."""

    low: bool = False
    balance: str = ""

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        self.low = user is not None and alerts.is_low(user)
        self.balance = format_money(user.balance_nano, await page_lang(self)) if user else ""


relocalize_on(routes.BILLING, BillingState.relocalize)
relocalize_on(routes.DASHBOARD_PAGES, BalanceBannerState.load)
