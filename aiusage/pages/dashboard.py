"""The overview (/dashboard): balance, recent spend, a 30-day chart, the latest requests, and
a call to action while the account has no key or no credit."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx
from reflex_base.event import EventSpec

from aiusage import routes
from aiusage.components.charts import chart_card
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr
from aiusage.pages.registry import add_dashboard_page
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


# Columns a phone drops (the row's detail keeps them): time, model, charge and status stay.
_WIDE_ONLY = rx.breakpoints(initial="none", md="table-cell")
_WRAP = rx.breakpoints(initial="normal", md="nowrap")


def requests_table(
    rows: rx.Var,
    table_id: str,
    *,
    with_key: bool = True,
    on_detail: Callable[[rx.Var], EventSpec] | None = None,
) -> rx.Component:
    """The latest requests, one row each. On a phone the key columns stay (time, model,
    charge, status) and the rest fold away instead of scrolling sideways. With `on_detail`,
    each row opens its detail (a click on the row, or its button for the keyboard)."""
    # The time wraps on a phone: date above time, so the charge fits beside it.
    columns: list[tuple[str, str, dict]] = [("usage.col.time", "time", {"white_space": _WRAP})]
    if with_key:
        columns.append(("usage.col.key", "key", {"display": _WIDE_ONLY}))
    columns += [
        ("usage.col.model", "model", {}),
        ("usage.col.input", "input", {"display": _WIDE_ONLY, "text_align": "right"}),
        ("usage.col.output", "output", {"display": _WIDE_ONLY, "text_align": "right"}),
        ("usage.col.cache", "cache", {"display": _WIDE_ONLY, "text_align": "right"}),
        ("costs.provider_cost", "provider_cost", {"display": _WIDE_ONLY, "text_align": "right"}),
        ("costs.fee", "fee", {"display": _WIDE_ONLY, "text_align": "right"}),
        ("costs.charged", "charged", {"text_align": "right"}),
        ("usage.col.latency", "latency", {"display": _WIDE_ONLY, "text_align": "right"}),
    ]

    def row(item: rx.Var) -> rx.Component:
        cells = [
            rx.table.cell(
                item[field], class_name=f"col-{field}", **{"white_space": "nowrap", **props}
            )
            for _key, field, props in columns
        ]
        cells.append(
            rx.table.cell(
                rx.badge(
                    item["status"],
                    color_scheme=rx.cond(item["ok"] == "1", "green", "red"),
                    variant="soft",
                )
            )
        )
        if on_detail is None:
            return rx.table.row(*cells, data_usage_id=item["id"], class_name="usage-row")
        cells.append(
            rx.table.cell(
                rx.icon_button(
                    rx.icon("panel-right-open", size=14),
                    variant="ghost",
                    size="1",
                    aria_label="details",
                    class_name="row-detail",
                )
            )
        )
        return rx.table.row(
            *cells,
            data_usage_id=item["id"],
            class_name="usage-row",
            on_click=on_detail(item["id"]),
            cursor="pointer",
            _hover={"background": rx.color("accent", 2)},
        )

    headers = [rx.table.column_header_cell(tr(key), **props) for key, _field, props in columns]
    headers.append(rx.table.column_header_cell(tr("usage.col.status")))
    if on_detail is not None:
        headers.append(rx.table.column_header_cell(""))
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*headers)),
            rx.table.body(rx.foreach(rows, row)),
            variant="surface",
            size="1",
            id=table_id,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def _step(done: rx.Var[bool], label_key: str, step_id: str, *links: tuple[str, str]):
    """One step: its state, what to do, and where to do it (links while not done)."""
    return rx.hstack(
        rx.cond(
            done,
            rx.icon("circle-check", color=rx.color("green", 10), size=20),
            rx.icon("circle", color=rx.color("gray", 9), size=20),
        ),
        rx.text(
            tr(label_key),
            size="2",
            color=rx.cond(done, rx.color("gray", 10), rx.color("gray", 12)),
            text_decoration=rx.cond(done, "line-through", "none"),
        ),
        rx.cond(
            ~done,
            rx.hstack(*[rx.link(tr(key), href=href, size="2") for key, href in links]),
        ),
        align="center",
        spacing="2",
        id=step_id,
        data_done=rx.cond(done, "true", "false"),
        class_name="onboarding-step",
        wrap="wrap",
    )


def onboarding_checklist() -> rx.Component:
    """The first five minutes: pay (own key or credit) → a proxy key → the first request."""
    return rx.cond(
        DashboardState.loaded & ~DashboardState.onboarding_done,
        rx.card(
            rx.vstack(
                rx.heading(tr("onboarding.title"), size="3"),
                _step(
                    DashboardState.step_payment,
                    "onboarding.step_payment",
                    "step-payment",
                    ("onboarding.step_payment_key", routes.KEYS),
                    ("onboarding.step_payment_credit", routes.BILLING),
                ),
                _step(
                    DashboardState.step_key,
                    "onboarding.step_key",
                    "step-key",
                    ("onboarding.step_key_link", routes.KEYS),
                ),
                _step(
                    DashboardState.step_request,
                    "onboarding.step_request",
                    "step-request",
                    ("onboarding.step_request_link", routes.CONNECT),
                ),
                spacing="2",
            ),
            id="onboarding",
            width="100%",
        ),
    )


def call_to_action() -> rx.Component:
    return rx.fragment(
        # Once past the checklist: an account whose keys were all revoked since.
        rx.cond(
            DashboardState.loaded & DashboardState.onboarding_done & ~DashboardState.has_key,
            rx.callout(
                rx.hstack(
                    rx.text(tr("overview.cta_key")),
                    rx.link(
                        rx.button(tr("overview.cta_key_button"), size="2"),
                        href=routes.KEYS,
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
                        href=routes.BILLING,
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
        onboarding_checklist(),
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
            stat(
                "costs.provider_cost_30d",
                DashboardState.cost_30d,
                "stat-cost-30d",
                rx.text(tr("costs.provider_cost_hint"), size="1", color_scheme="gray"),
            ),
            stat(
                "costs.fee_30d",
                DashboardState.fee_30d,
                "stat-fee-30d",
                rx.link(tr("costs.pricing_link"), href="/pricing", size="1"),
            ),
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
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(tr("overview.recent"), size="3"),
                    rx.spacer(),
                    rx.link(tr("overview.all_usage"), href=routes.USAGE, size="2"),
                    width="100%",
                    align="center",
                ),
                rx.cond(
                    ~DashboardState.loaded,
                    rx.skeleton(rx.box(height="6em", width="100%"), loading=True),
                    rx.cond(
                        DashboardState.recent.length() > 0,
                        requests_table(DashboardState.recent, "recent-table"),
                        rx.text(
                            tr("overview.no_requests"),
                            color_scheme="gray",
                            size="2",
                            id="recent-empty",
                        ),
                    ),
                ),
                width="100%",
            ),
            width="100%",
        ),
        # One credit message at a time: the call to add credit replaces the low-balance one.
        hide_low_balance=DashboardState.loaded & ~DashboardState.has_credit,
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, overview, routes.OVERVIEW, "nav.overview", DashboardState.on_load)
