"""The usage page's request detail panel: one request's metadata (never its content)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr
from aiusage.state.usage import UsageState

# (catalog key, detail field), in the order a reader checks them.
_WHAT = [
    ("detail.request_id", "request_id"),
    ("detail.time", "time"),
    ("detail.key", "key"),
    ("detail.provider", "provider"),
    ("detail.endpoint", "endpoint"),
    ("detail.model", "model"),
    ("detail.provider_key", "provider_key"),
    ("detail.status", "status"),
    ("detail.error_type", "error_type"),
]
_TOKENS = [
    ("detail.input", "input"),
    ("detail.output", "output"),
    ("detail.cache_write_5m", "cache_write_5m"),
    ("detail.cache_write_1h", "cache_write_1h"),
    ("detail.cache_read", "cache_read"),
    ("detail.tools", "tools"),
]
_MONEY = [
    ("costs.provider_cost", "provider_cost"),
    ("costs.fee", "fee"),
    ("costs.charged", "charged"),
]
_TIMING = [
    ("detail.latency", "latency"),
    ("detail.ttfb", "ttfb"),
    ("detail.user_agent", "user_agent"),
]


def _lines(title_key: str, lines: list[tuple[str, str]]) -> rx.Component:
    return rx.vstack(
        rx.text(tr(title_key), weight="bold", size="2"),
        rx.data_list.root(
            *[
                rx.data_list.item(
                    rx.data_list.label(tr(key), min_width="9em"),
                    rx.data_list.value(
                        UsageState.detail[field],
                        id=f"detail-{field}",
                        word_break="break-all",
                    ),
                )
                for key, field in lines
            ],
            size="1",
            orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        ),
        spacing="1",
        width="100%",
    )


def detail_panel() -> rx.Component:
    paid_with = rx.cond(
        UsageState.detail["paid_with"] == "own",
        tr("detail.paid_own_key"),
        tr("detail.paid_credit"),
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("detail.title")),
            rx.dialog.description(tr("detail.no_content"), size="2", color_scheme="gray"),
            rx.vstack(
                _lines("detail.what", _WHAT),
                _lines("detail.tokens", _TOKENS),
                rx.vstack(
                    _lines("detail.cost", _MONEY),
                    rx.text(paid_with, size="1", color_scheme="gray", id="detail-paid-with"),
                    rx.cond(
                        UsageState.detail["priced_by_default"] == "1",
                        rx.text(tr("detail.priced_by_default"), size="1", color_scheme="amber"),
                    ),
                    rx.cond(
                        UsageState.detail["estimated"] == "1",
                        rx.text(tr("detail.estimated"), size="1", color_scheme="amber"),
                    ),
                    spacing="1",
                    width="100%",
                ),
                _lines("detail.timing", _TIMING),
                rx.dialog.close(
                    rx.button(tr("detail.close"), variant="soft", id="detail-close"),
                ),
                spacing="4",
                margin_top="1em",
                align="start",
            ),
            id="request-detail",
            max_width="560px",
        ),
        open=UsageState.detail_open,
        on_open_change=UsageState.set_detail_open,
    )
