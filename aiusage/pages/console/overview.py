"""The console's overview (/admin): the business over a period — money in and out, requests
and error rates by provider and model, the biggest spenders."""

from __future__ import annotations

import reflex as rx

from aiusage.components.charts import chart_card
from aiusage.components.text import tr
from aiusage.pages.console.shell import console_on_load, console_shell, console_table
from aiusage.state.console_overview import ConsoleOverviewState

MONEY = [
    ("console.overview.topups", "topups"),
    ("console.overview.refunds", "refunds"),
    ("console.overview.net_topups", "net_topups"),
    ("console.overview.charged", "charged"),
    ("console.overview.provider_cost", "provider_cost"),
    ("console.overview.fees", "fees"),
    ("console.overview.losses", "losses"),
    ("console.overview.margin", "margin"),
]


def _figure_card(label_key: str, field: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(tr(label_key), size="2", color_scheme="gray"),
            rx.skeleton(
                rx.heading(ConsoleOverviewState.money[field], size="5", id=f"money-{field}"),
                loading=~ConsoleOverviewState.loaded,
            ),
            spacing="1",
        ),
        flex="1 1 170px",
        min_width="max-content",
    )


def overview_page() -> rx.Component:
    return console_shell(
        "console.nav.overview",
        rx.text(
            tr("console.signed_in_as"),
            ": ",
            rx.text.strong(ConsoleOverviewState.operator_email),
            " (",
            ConsoleOverviewState.operator_role,
            ")",
            size="2",
            color_scheme="gray",
            id="operator",
        ),
        rx.segmented_control.root(
            *[
                rx.segmented_control.item(tr(f"console.overview.period_{p}"), value=p)
                for p in ("7d", "30d", "90d")
            ],
            value=ConsoleOverviewState.period,
            on_change=ConsoleOverviewState.set_period,
            id="console-period",
        ),
        rx.flex(*[_figure_card(k, f) for k, f in MONEY], wrap="wrap", spacing="3", width="100%"),
        rx.text(tr("console.overview.explain"), size="1", color_scheme="gray"),
        chart_card("console.overview.chart", ConsoleOverviewState.chart, "console-chart"),
        rx.heading(tr("console.overview.by_model"), size="4"),
        console_table(
            "console-models",
            ConsoleOverviewState.models,
            [
                ("console.overview.provider", "provider"),
                ("console.overview.model", "model"),
                ("console.overview.requests", "requests"),
                ("console.overview.errors", "errors"),
                ("console.overview.error_rate", "error_rate"),
                ("console.overview.charged", "charged"),
                ("console.overview.fees", "fee"),
            ],
            row_class="console-models-row",
            nowrap=True,
        ),
        rx.heading(tr("console.overview.top_users"), size="4"),
        console_table(
            "console-top-users",
            ConsoleOverviewState.top_users,
            [
                ("console.users.email", "email"),
                ("console.overview.requests", "requests"),
                ("console.overview.charged", "charged"),
            ],
            row_class="console-top-users-row",
            link_field="email",
            nowrap=True,
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        overview_page,
        route="/admin",
        title="aiusage · console",
        on_load=console_on_load(ConsoleOverviewState.load_operator, ConsoleOverviewState.load),
    )
