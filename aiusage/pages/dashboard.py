"""The signed-in overview (later issues fill it with spend, balance and keys)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import dashboard_shell
from aiusage.state.auth import SessionState


def overview() -> rx.Component:
    return dashboard_shell(
        "Overview",
        rx.card(
            rx.vstack(
                rx.text("Signed in as"),
                rx.heading(SessionState.email, size="5", id="overview-email"),
                rx.text("Your usage and balance will appear here.", color_scheme="gray"),
            )
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        overview, route="/dashboard", title="Dashboard · aiusage", on_load=SessionState.load_private
    )
