"""The overview (/dashboard): balance, recent spend, a 30-day chart, the latest requests, and
a call to action while the account has no key or no credit."""

from __future__ import annotations

import reflex as rx

from aiusage.components.charts import chart_card
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr
from aiusage.state.auth import SessionState
from aiusage.state.dashboard import DashboardState


def stat(label_key: str, value: rx.Var, stat_id: str, hint: rx.Component | None = None):
    return rx.card(
        rx.vstack(
            rx.text(tr(label_key), size="2", color_scheme="gray"),
            rx.skeleton(
                rx.heading(value, size="5", id=stat_id, white_space="nowrap"),
                loading=~DashboardState.loaded,
            ),
            *([hint] if hint is not None else []),
            spacing="1",
        ),
        flex="1 1 170px",
        # Never narrower than its figure: long amounts ("US$1,234.50") must not be cut off.
        min_width="max-content",
    )


def requests_table(rows: rx.Var, table_id: str, *, with_key: bool = True) -> rx.Component:
    headers = ["usage.col.time"]
    if with_key:
        headers.append("usage.col.key")
    headers += [
        "usage.col.model",
        "usage.col.input",
        "usage.col.output",
        "usage.col.cache",
        "usage.col.cost",
        "usage.col.latency",
        "usage.col.status",
    ]

    def row(item: rx.Var) -> rx.Component:
        cells = [rx.table.cell(item["time"], white_space="nowrap")]
        if with_key:
            cells.append(rx.table.cell(item["key"]))
        cells += [
            rx.table.cell(item["model"], white_space="nowrap"),
            rx.table.cell(item["input"], text_align="right"),
            rx.table.cell(item["output"], text_align="right"),
            rx.table.cell(item["cache"], text_align="right"),
            rx.table.cell(item["cost"], text_align="right", white_space="nowrap"),
            rx.table.cell(item["latency"], text_align="right", white_space="nowrap"),
            rx.table.cell(
                rx.badge(
                    item["status"],
                    color_scheme=rx.cond(item["ok"] == "1", "green", "red"),
                    variant="soft",
                )
            ),
        ]
        return rx.table.row(*cells, data_usage_id=item["id"], class_name="usage-row")

    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(h)) for h in headers])),
            rx.table.body(rx.foreach(rows, row)),
            variant="surface",
            size="1",
            id=table_id,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def call_to_action() -> rx.Component:
    return rx.fragment(
        rx.cond(
            DashboardState.loaded & ~DashboardState.has_key,
            rx.callout(
                rx.hstack(
                    rx.text(tr("overview.cta_key")),
                    rx.link(
                        rx.button(tr("overview.cta_key_button"), size="2"),
                        href="/dashboard/keys",
                    ),
                    align="center",
                    wrap="wrap",
                    spacing="3",
                ),
                icon="key-round",
                color_scheme="blue",
                id="cta-key",
                width="100%",
            ),
        ),
        rx.cond(
            DashboardState.loaded & ~DashboardState.has_credit,
            rx.callout(
                rx.hstack(
                    rx.text(tr("overview.cta_credit")),
                    rx.link(
                        rx.button(tr("overview.cta_credit_button"), size="2", variant="soft"),
                        href="/dashboard/billing",
                    ),
                    align="center",
                    wrap="wrap",
                    spacing="3",
                ),
                icon="wallet",
                color_scheme="amber",
                id="cta-credit",
                width="100%",
            ),
        ),
    )


def overview() -> rx.Component:
    return dashboard_shell(
        "nav.overview",
        rx.text(
            tr("overview.signed_in_as"),
            " ",
            rx.text.strong(SessionState.email, id="overview-email"),
            color_scheme="gray",
            size="2",
        ),
        call_to_action(),
        rx.flex(
            stat(
                "overview.balance",
                DashboardState.balance,
                "stat-balance",
                rx.text(
                    tr("overview.available"),
                    " ",
                    DashboardState.available,
                    size="1",
                    color_scheme="gray",
                ),
            ),
            stat("overview.spend_today", DashboardState.spend_today, "stat-today"),
            stat("overview.spend_7d", DashboardState.spend_7d, "stat-7d"),
            stat("overview.spend_30d", DashboardState.spend_30d, "stat-30d"),
            stat("overview.requests_30d", DashboardState.requests_30d, "stat-requests"),
            stat("overview.tokens_30d", DashboardState.tokens_30d, "stat-tokens"),
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        chart_card(
            "overview.chart_title",
            DashboardState.chart,
            "overview-chart",
            ~DashboardState.has_usage,
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(tr("overview.recent"), size="3"),
                    rx.spacer(),
                    rx.link(tr("overview.all_usage"), href="/dashboard/usage", size="2"),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    DashboardState.recent.length() > 0,
                    requests_table(DashboardState.recent, "recent-table"),
                    rx.text(tr("overview.no_requests"), color_scheme="gray", size="2"),
                ),
                width="100%",
            ),
            width="100%",
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        overview,
        route="/dashboard",
        title="aiusage",
        on_load=[SessionState.load_private, DashboardState.on_load],
    )
