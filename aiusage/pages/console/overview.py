"""The console's overview (/admin): the operator's view of the business over a period."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr
from aiusage.pages.console.shell import console_on_load, console_shell
from aiusage.state.console import ConsoleState


def overview_page() -> rx.Component:
    return console_shell(
        "console.nav.overview",
        rx.text(tr("console.signed_in_as"), " ", ConsoleState.operator_email, id="operator"),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        overview_page,
        route="/admin",
        title="aiusage · console",
        on_load=console_on_load(ConsoleState.load_operator),
    )
