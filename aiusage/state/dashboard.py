"""The overview's state, plus display helpers shared by the dashboard's states.

Times: the browser reports its UTC offset once per page load (state/page.py), and the
server buckets and formats times in that offset. State holds display strings only: no secret
ever lands here."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go
import reflex as rx

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n.formatting import (
    format_datetime,
    format_money,
    format_number,
    format_tokens,
)
from aiusage.models.base import id_of
from aiusage.services import usage
from aiusage.services.onboarding import onboarding
from aiusage.state.figures import empty_figure, spend_figure
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import LocalTimes
from aiusage.state.user import signed_in_user


def local_time(
    moment: datetime | None, tz_offset_min: int, lang: str = "en", seconds: bool = True
) -> str:
    """A stored UTC moment in the browser's offset, in the page language."""
    return format_datetime(moment, lang, tz_offset_min, seconds=seconds)


def usd(nano: int, lang: str = "en") -> str:
    """Totals in cents; below a cent to the micro-dollar, so small spend does not read as
    $0.00."""
    return format_money(nano, lang, 2 if nano == 0 or abs(nano) >= 10_000_000 else 6)


def usd_fine(nano: int, lang: str = "en") -> str:
    """One request's cost, to the micro-dollar."""
    return format_money(nano, lang, 6)


def count(value: int, lang: str = "en") -> str:
    return format_number(value, lang)


def row_view(row: usage.UsageRow, tz_offset_min: int, lang: str = "en") -> dict[str, str]:
    cache = row.cache_write_5m_tokens + row.cache_write_1h_tokens + row.cache_read_tokens
    return {
        "id": str(row.id),
        "time": local_time(row.created_at, tz_offset_min, lang),
        "key": row.key_name or "—",
        "provider": row.provider,
        "model": row.model,
        "input": count(row.input_tokens, lang),
        "output": count(row.output_tokens, lang),
        "cache": count(cache, lang),
        "provider_cost": usd_fine(row.cost_nano, lang),
        "fee": usd_fine(row.fee_nano, lang),
        "charged": usd_fine(row.charged_nano, lang),
        "own_key": "1" if row.key_source == "byok" else "",
        "latency": f"{count(row.latency_ms, lang)} ms",
        "status": str(row.status),
        "ok": "1" if row.status < 400 and not row.error_type else "",
    }


class DashboardState(LocalTimes, rx.State):
    """The overview: balance, recent spend, a 30-day chart and the latest requests."""

    balance: str = ""
    available: str = ""
    has_credit: bool = False
    has_key: bool = False
    spend_today: str = ""
    spend_7d: str = ""
    spend_30d: str = ""
    cost_30d: str = ""
    fee_30d: str = ""
    requests_30d: str = ""
    tokens_30d: str = ""
    chart: go.Figure = empty_figure()
    recent: list[dict[str, str]] = []
    # The first-five-minutes checklist (services/onboarding.py), shown until all are done.
    step_payment: bool = False
    step_key: bool = False
    step_request: bool = False
    onboarding_done: bool = True

    @rx.event
    def on_load(self):
        self.loaded = False
        return self._ask_tz()

    async def _refresh(self) -> None:
        user = await signed_in_user(self)
        if user is None:
            self.loaded = False
            return
        tz = self.tz_offset
        lang = await page_lang(self)
        rng = usage.resolve_range("30d", tz)
        flt = usage.UsageFilter(id_of(user), rng.start, rng.end, tz_offset_min=tz)
        async with session_scope() as db:
            info = await usage.overview(db, id_of(user), tz)
            spend = await usage.spend_by_model(db, flt, "day")
            rows, _ = await usage.page(db, flt, limit=5)
            steps = await onboarding(db, id_of(user))
        available = info.balance_nano - info.held_nano
        self.balance = usd(info.balance_nano, lang)
        self.available = usd(available, lang)
        self.has_credit = available > 0
        self.has_key = info.active_keys > 0
        self.spend_today = usd(info.spend_today_nano, lang)
        self.spend_7d = usd(info.spend_7d_nano, lang)
        self.spend_30d = usd(info.spend_30d_nano, lang)
        self.cost_30d = usd(info.cost_30d_nano, lang)
        self.fee_30d = usd(info.fee_30d_nano, lang)
        self.requests_30d = count(info.requests_30d, lang)
        self.tokens_30d = format_tokens(info.tokens_30d, lang)
        self.chart = spend_figure(usage.bucket_labels(rng), spend, lang)
        self.recent = [row_view(r, tz, lang) for r in rows]
        self.step_payment, self.step_key = steps.payment_ready, steps.proxy_key
        self.step_request, self.onboarding_done = steps.first_request, steps.done
        self.loaded = True


relocalize_on(routes.OVERVIEW, DashboardState.relocalize)
