"""The usage page (/dashboard/usage): range and filters, charts, the request table, CSV."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.charts import chart_card
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr
from aiusage.pages.dashboard import requests_table
from aiusage.pages.registry import add_dashboard_page
from aiusage.pages.usage_detail import detail_panel
from aiusage.state.usage import ALL, UsageState

RANGE_CHOICES = [
    ("today", "usage.range.today"),
    ("7d", "usage.range.7d"),
    ("30d", "usage.range.30d"),
    ("90d", "usage.range.90d"),
    ("custom", "usage.range.custom"),
]


def _select(value, on_change, all_key: str, options, select_id: str, label_key: str):
    return rx.vstack(
        rx.text(tr(label_key), size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(id=select_id, min_width="150px"),
            rx.select.content(
                rx.select.item(tr(all_key), value=ALL),
                options,
            ),
            value=value,
            on_change=on_change,
        ),
        spacing="1",
    )


def filters() -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.text(tr("usage.range"), size="1", color_scheme="gray"),
            rx.box(
                rx.segmented_control.root(
                    *[rx.segmented_control.item(tr(k), value=v) for v, k in RANGE_CHOICES],
                    value=UsageState.range_preset,
                    on_change=UsageState.set_range,
                    id="range-picker",
                    size=rx.breakpoints(initial="1", sm="2"),
                ),
                max_width="100%",
                overflow_x="auto",
            ),
            spacing="1",
            max_width="100%",
        ),
        rx.cond(
            UsageState.range_preset == "custom",
            rx.hstack(
                rx.vstack(
                    rx.text(tr("usage.from"), size="1", color_scheme="gray"),
                    rx.input(
                        type="date",
                        value=UsageState.custom_from,
                        on_change=UsageState.set_custom_from,
                        id="custom-from",
                    ),
                    spacing="1",
                ),
                rx.vstack(
                    rx.text(tr("usage.to"), size="1", color_scheme="gray"),
                    rx.input(
                        type="date",
                        value=UsageState.custom_to,
                        on_change=UsageState.set_custom_to,
                        id="custom-to",
                    ),
                    spacing="1",
                ),
            ),
        ),
        _select(
            UsageState.key_filter,
            UsageState.set_key_filter,
            "usage.all_keys",
            rx.foreach(
                UsageState.key_options,
                lambda o: rx.select.item(o["label"], value=o["value"]),
            ),
            "filter-key",
            "usage.key",
        ),
        _select(
            UsageState.provider_filter,
            UsageState.set_provider_filter,
            "usage.all_providers",
            rx.foreach(UsageState.provider_options, lambda p: rx.select.item(p, value=p)),
            "filter-provider",
            "usage.provider",
        ),
        _select(
            UsageState.model_filter,
            UsageState.set_model_filter,
            "usage.all_models",
            rx.foreach(UsageState.model_options, lambda m: rx.select.item(m, value=m)),
            "filter-model",
            "usage.model",
        ),
        rx.vstack(
            rx.text("\u00a0", size="1"),
            rx.hstack(
                rx.button(
                    rx.icon("x", size=14),
                    tr("usage.clear"),
                    variant="ghost",
                    on_click=UsageState.clear_filters,
                ),
                rx.link(
                    rx.button(rx.icon("download", size=14), tr("usage.csv"), variant="soft"),
                    href=UsageState.csv_url,
                    id="csv-link",
                    is_external=True,
                ),
                spacing="2",
            ),
            spacing="1",
        ),
        wrap="wrap",
        spacing="4",
        align="end",
        width="100%",
    )


def total(label_key: str, value: rx.Var, total_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="1", color_scheme="gray"),
        rx.skeleton(
            rx.text(value, weight="bold", size="4", id=total_id), loading=~UsageState.loaded
        ),
        spacing="0",
        min_width="110px",
    )


def totals() -> rx.Component:
    return rx.card(
        rx.flex(
            total("usage.total_spend", UsageState.total_spend, "total-spend"),
            total("usage.total_cost", UsageState.total_cost, "total-cost"),
            total("usage.total_fee", UsageState.total_fee, "total-fee"),
            total("usage.total_requests", UsageState.total_requests, "total-requests"),
            total("usage.total_errors", UsageState.total_errors, "total-errors"),
            total("usage.total_input", UsageState.total_input, "total-input"),
            total("usage.total_output", UsageState.total_output, "total-output"),
            total("usage.total_cache", UsageState.total_cache, "total-cache"),
            total("usage.p50", UsageState.p50, "total-p50"),
            total("usage.p95", UsageState.p95, "total-p95"),
            wrap="wrap",
            spacing="5",
        ),
        width="100%",
    )


def _group_table(rows: rx.Var, name_key: str, table_id: str) -> rx.Component:
    # (catalog key, field, shown on a phone too): the name, the charge and the error rate.
    columns = [
        ("breakdown.requests", "requests", False),
        ("breakdown.tokens", "tokens", False),
        ("costs.provider_cost", "provider_cost", False),
        ("costs.fee", "fee", False),
        ("costs.charged", "charged", True),
        ("breakdown.error_rate", "error_rate", True),
    ]

    def shown(on_phone: bool) -> dict:
        return {} if on_phone else {"display": rx.breakpoints(initial="none", md="table-cell")}

    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(tr(name_key)),
                    *[
                        rx.table.column_header_cell(tr(key), text_align="right", **shown(phone))
                        for key, _, phone in columns
                    ],
                )
            ),
            rx.table.body(
                rx.foreach(
                    rows,
                    lambda item: rx.table.row(
                        rx.table.cell(item["name"], white_space="nowrap"),
                        *[
                            rx.table.cell(
                                item[field],
                                text_align="right",
                                white_space="nowrap",
                                **shown(phone),
                            )
                            for _, field, phone in columns
                        ],
                        class_name="group-row",
                    ),
                )
            ),
            variant="surface",
            size="1",
            id=table_id,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def breakdown() -> rx.Component:
    """Totals per model and per key over the same filters."""
    return rx.card(
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(tr("breakdown.by_model"), value="model", id="tab-by-model"),
                rx.tabs.trigger(tr("breakdown.by_key"), value="key", id="tab-by-key"),
            ),
            rx.tabs.content(
                _group_table(UsageState.by_model, "breakdown.name_model", "by-model-table"),
                value="model",
                padding_top="0.75em",
            ),
            rx.tabs.content(
                _group_table(UsageState.by_key, "breakdown.name_key", "by-key-table"),
                value="key",
                padding_top="0.75em",
            ),
            default_value="model",
        ),
        width="100%",
    )


def table() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("usage.requests_table"), size="3"),
            rx.cond(
                ~UsageState.loaded,
                rx.skeleton(rx.box(height="8em", width="100%"), loading=True),
                rx.cond(
                    UsageState.rows.length() > 0,
                    requests_table(
                        UsageState.rows, "usage-table", on_detail=UsageState.show_detail
                    ),
                    rx.text(
                        tr("usage.no_requests"),
                        color_scheme="gray",
                        size="2",
                        id="usage-table-empty",
                    ),
                ),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("chevron-left", size=14),
                    tr("usage.prev"),
                    variant="soft",
                    disabled=UsageState.page_number <= 1,
                    on_click=UsageState.prev_page,
                    id="page-prev",
                ),
                rx.text(tr("usage.page"), " ", UsageState.page_number, size="2", id="page-number"),
                rx.button(
                    tr("usage.next"),
                    rx.icon("chevron-right", size=14),
                    variant="soft",
                    disabled=~UsageState.has_next,
                    on_click=UsageState.next_page,
                    id="page-next",
                ),
                align="center",
                spacing="3",
            ),
            width="100%",
        ),
        width="100%",
    )


def usage_page() -> rx.Component:
    return dashboard_shell(
        "nav.usage",
        filters(),
        rx.hstack(
            rx.text(UsageState.range_label, size="2", color_scheme="gray", id="range-label"),
            rx.cond(UsageState.loading, rx.spinner(size="2")),
            rx.text(tr("usage.tz_note"), size="1", color_scheme="gray"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        totals(),
        rx.grid(
            chart_card("usage.chart_spend", UsageState.spend_fig, "spend-chart"),
            chart_card("usage.chart_tokens", UsageState.tokens_fig, "tokens-chart"),
            chart_card("usage.chart_requests", UsageState.requests_fig, "requests-chart"),
            chart_card("usage.chart_latency", UsageState.latency_fig, "latency-chart"),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="3",
            width="100%",
        ),
        breakdown(),
        table(),
        detail_panel(),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, usage_page, routes.USAGE, "nav.usage", UsageState.on_load)
