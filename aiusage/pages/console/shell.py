"""The console's frame: the dashboard's look with the console's navigation, and the outcome
of the last action."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.layout import Area, NavEntry, signed_in_shell
from aiusage.components.messages import message_callouts
from aiusage.state.auth import SessionState
from aiusage.state.console import ConsoleState

CONSOLE = Area(
    "console",
    (
        NavEntry("console.nav.overview", routes.CONSOLE, "gauge"),
        NavEntry("console.nav.users", routes.CONSOLE_USERS, "users"),
        NavEntry("console.nav.prices", routes.CONSOLE_PRICES, "tags"),
        NavEntry("console.nav.support", routes.CONSOLE_SUPPORT, "inbox"),
        NavEntry("console.nav.audit", routes.CONSOLE_AUDIT, "scroll-text"),
    ),
)


def console_shell(title_key: str, *children: rx.Component) -> rx.Component:
    return signed_in_shell(
        CONSOLE,
        title_key,
        message_callouts(ConsoleState.error, ConsoleState.notice, "console"),
        *children,
    )


def console_on_load(*events: object) -> list[object]:
    """A console page's on_load: the session (and language), then the page's own loads.
    Signed-out visitors never get here: the console's pages are guarded on the server."""
    return [SessionState.load_private, *events]
