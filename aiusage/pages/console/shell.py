"""The console's frame: the dashboard's look with the console's navigation, and the outcome
of the last action."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import Area, NavEntry, signed_in_shell
from aiusage.components.messages import message_callouts
from aiusage.state.auth import SessionState
from aiusage.state.console import ConsoleState

CONSOLE = Area(
    "console",
    (
        NavEntry("console.nav.overview", "/admin", "gauge"),
        NavEntry("console.nav.users", "/admin/users", "users"),
        NavEntry("console.nav.prices", "/admin/prices", "tags"),
        NavEntry("console.nav.support", "/admin/support", "inbox"),
        NavEntry("console.nav.audit", "/admin/audit", "scroll-text"),
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
