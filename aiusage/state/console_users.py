"""The console's users: the search, and one account's page with its actions.

Thin: every read and change is a service call (services/console_users.py) that checks the
operator's role itself; the states keep display strings only (keys by prefix, provider keys
by their last four — the services never hand out more)."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n.formatting import format_datetime, format_money
from aiusage.services import console_users
from aiusage.services.errors import ServiceError
from aiusage.state.console import ConsoleState
from aiusage.state.locale import page_lang


def _when(moment: datetime | None, lang: str) -> str:
    return format_datetime(moment, lang, 0) + " UTC" if moment else "—"


class ConsoleUsersState(ConsoleState):
    query: str = ""
    results: list[dict[str, str]] = []
    searched: bool = False

    @rx.event
    async def load(self):
        await self._search()

    @rx.event
    async def search(self, form: dict[str, str]):
        self.query = str(form.get("query", ""))[:320]
        await self._search()

    async def _search(self) -> None:
        if await self.operator() is None:
            return
        lang = await page_lang(self)
        async with session_scope() as db:
            found = await console_users.search(db, self.query)
        self.results = [
            {
                "id": str(u.id),
                "email": u.email,
                "balance": format_money(u.balance_nano, lang),
                "role": u.role or "",
                "state": "closed" if u.closed else "suspended" if u.suspended else "",
                "created": _when(u.created_at, lang),
            }
            for u in found
        ]
        self.searched = True


class ConsoleUserState(ConsoleState):
    """/admin/users/[user_id]: what the operator sees, and the actions."""

    found: bool = False
    user: dict[str, str] = {}
    ledger: list[dict[str, str]] = []
    holds: list[dict[str, str]] = []
    proxy_keys: list[dict[str, str]] = []
    provider_keys: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []
    support: list[dict[str, str]] = []
    refundable: list[dict[str, str]] = []  # top-ups paid by card: {"id", "label"}

    def _user_id(self) -> int | None:
        raw = str(self.router.page.params.get("user_id", ""))
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None

    @rx.event
    async def load(self):
        self.error = self.notice = ""
        await self._refresh()

    async def _refresh(self) -> None:
        user_id = self._user_id()
        if await self.operator() is None or user_id is None:
            self.found = False
            return
        lang = await page_lang(self)
        try:
            async with session_scope() as db:
                d = await console_users.detail(db, user_id)
        except ServiceError:
            self.found = False
            return
        u = d.user
        self.user = {
            "id": str(u.id),
            "email": u.email,
            "balance": format_money(u.balance_nano, lang, 6),
            "held": format_money(d.held_nano, lang, 6),
            "available": format_money(u.balance_nano - d.held_nano, lang, 6),
            "role": u.role or "—",
            "suspended": "1" if u.suspended else "",
            "closed": "1" if u.closed else "",
            "verified": "1" if d.verified else "",
            "two_factor": "1" if d.two_factor else "",
            "locale": d.locale,
            "created": _when(u.created_at, lang),
            "requests_30d": f"{d.requests_30d:,}",
            "charged_30d": format_money(d.charged_30d_nano, lang, 6),
        }
        self.ledger = [
            {
                "id": str(e.id),
                "when": _when(e.created_at, lang),
                "kind": e.kind,
                "amount": format_money(e.amount_nano, lang, 6),
                "after": format_money(e.balance_after_nano, lang, 6),
                "description": e.description,
            }
            for e in d.ledger
        ]
        self.refundable = [
            {
                "id": str(e.id),
                "label": f"{_when(e.created_at, lang)} · {format_money(e.amount_nano, lang)}",
            }
            for e in d.ledger
            if e.kind == "topup" and (e.reference or "").startswith(("checkout:", "pi:"))
        ]
        self.holds = [
            {
                "request": h.request_id,
                "amount": format_money(h.amount_nano, lang, 6),
                "lease": _when(datetime.fromtimestamp(h.lease_until_ms / 1000, UTC), lang),
            }
            for h in d.holds
        ]
        self.proxy_keys = [
            {
                "name": k.name,
                "prefix": k.prefix + "…",
                "created": _when(k.created_at, lang),
                "state": "revoked" if k.revoked_at else "disabled" if k.disabled_at else "active",
            }
            for k in d.proxy_keys
        ]
        self.provider_keys = [
            {"provider": p.provider, "label": p.label or "—", "last4": "••••" + p.last4}
            for p in d.provider_keys
        ]
        self.sessions = [
            {
                "created": _when(s.created_at, lang),
                "last_used": _when(s.last_used_at, lang),
                "agent": s.user_agent[:120] or "—",
            }
            for s in d.sessions
        ]
        self.support = [
            {
                "id": str(m.id),
                "when": _when(m.created_at, lang),
                "subject": m.subject,
                "status": m.status,
            }
            for m in d.support
        ]
        self.found = True

    async def _act(self, action, notice: str) -> None:
        """Runs one service action as the operator, then shows the account afresh."""
        operator = await self.operator()
        user_id = self._user_id()
        if operator is None or user_id is None:
            return
        try:
            async with session_scope() as db:
                await action(db, operator, user_id)
        except ServiceError as error:
            self.outcome(error)
            return
        self.outcome(notice=notice)
        await self._refresh()

    @rx.event
    async def adjust_credit(self, form: dict[str, str]):
        try:
            amount = console_users.parse_adjustment(str(form.get("amount", "")))
        except ServiceError as error:
            self.outcome(error)
            return
        reason = str(form.get("reason", ""))

        async def action(db, operator, user_id):
            await console_users.adjust_credit(db, operator, user_id, amount, reason)

        await self._act(action, "console.user.notice.adjusted")

    @rx.event
    async def set_suspended(self, form: dict[str, str]):
        suspend = form.get("suspend") == "1"
        reason = str(form.get("reason", ""))

        async def action(db, operator, user_id):
            await console_users.set_suspended(db, operator, user_id, suspend, reason)

        await self._act(
            action,
            "console.user.notice.suspended" if suspend else "console.user.notice.unsuspended",
        )

    @rx.event
    async def reset_two_factor(self, form: dict[str, str]):
        reason = str(form.get("reason", ""))

        async def action(db, operator, user_id):
            await console_users.reset_two_factor(db, operator, user_id, reason)

        await self._act(action, "console.user.notice.two_factor_reset")

    @rx.event
    async def refund_topup(self, form: dict[str, str]):
        raw = str(form.get("entry", ""))
        reason = str(form.get("reason", ""))
        entry_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0

        async def action(db, operator, user_id):
            await console_users.refund_topup(db, operator, user_id, entry_id, reason)

        await self._act(action, "console.user.notice.refund_asked")

    @rx.event
    async def resend_verification(self):
        await self._act(console_users.resend_verification, "console.user.notice.verification_sent")
