"""The signed-in overview (later issues fill it with spend, balance and keys)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr
from aiusage.state.auth import SessionState


def overview() -> rx.Component:
    return dashboard_shell(
        "nav.overview",
        rx.card(
            rx.vstack(
                rx.text(tr("overview.signed_in_as")),
                rx.heading(SessionState.email, size="5", id="overview-email"),
                rx.text(tr("overview.placeholder"), color_scheme="gray"),
            )
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(overview, route="/dashboard", title="aiusage", on_load=SessionState.load_private)
