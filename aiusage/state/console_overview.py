"""The console overview's state: the period's figures as display strings and one chart."""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n.formatting import format_money, format_percent_bps
from aiusage.services import console_overview
from aiusage.state.console import ConsoleState
from aiusage.state.figures import empty_figure, figure
from aiusage.state.locale import page_lang


def _usd(nano: int, lang: str) -> str:
    return format_money(nano, lang, 2 if nano == 0 or abs(nano) >= 10_000_000 else 6)


class ConsoleOverviewState(ConsoleState):
    period: str = "30d"
    loaded: bool = False
    money: dict[str, str] = {}
    models: list[dict[str, str]] = []
    top_users: list[dict[str, str]] = []
    chart: go.Figure = empty_figure()

    @rx.event
    async def load(self):
        await self._refresh()

    @rx.event
    async def set_period(self, period: str | list[str]):
        if isinstance(period, str) and period in console_overview.PERIODS:
            self.period = period
            await self._refresh()

    async def _refresh(self) -> None:
        if await self.operator() is None:
            return
        lang = await page_lang(self)
        async with session_scope() as db:
            o = await console_overview.overview(db, self.period)
        m = o.money
        self.money = {
            "topups": _usd(m.topups_nano, lang),
            "refunds": _usd(m.refunds_nano, lang),
            "net_topups": _usd(m.net_topups_nano, lang),
            "charged": _usd(m.charged_nano, lang),
            "provider_cost": _usd(m.provider_cost_nano, lang),
            "fees": _usd(m.fees_nano, lang),
            "losses": _usd(m.losses_nano, lang),
            "margin": _usd(m.margin_nano, lang),
        }
        self.models = [
            {
                "provider": line.provider,
                "model": line.model,
                "requests": f"{line.requests:,}",
                "errors": f"{line.errors:,}",
                "error_rate": format_percent_bps(line.error_rate_bps, lang),
                "charged": _usd(line.charged_nano, lang),
                "fee": _usd(line.fee_nano, lang),
            }
            for line in o.models
        ]
        self.top_users = [
            {
                "id": str(u.user_id),
                "email": u.email,
                "requests": f"{u.requests:,}",
                "charged": _usd(u.charged_nano, lang),
            }
            for u in o.top_users
        ]
        days = [d.day for d in o.days]
        dollars = 1_000_000_000  # display only: the chart's axis in dollars
        self.chart = figure(
            [
                go.Bar(x=days, y=[d.charged_nano / dollars for d in o.days], name="charged"),
                go.Bar(x=days, y=[d.fee_nano / dollars for d in o.days], name="fees"),
                go.Scatter(
                    x=days,
                    y=[d.topups_nano / dollars for d in o.days],
                    name="top-ups",
                    mode="lines+markers",
                ),
            ],
            days,
            lang,
            barmode="group",
            yaxis={"tickprefix": "$"},
        )
        self.loaded = True
