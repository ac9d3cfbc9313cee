"""The console's frame: the dashboard's look with the console's navigation, and the outcome
of the last action."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import reflex as rx

from aiusage import routes
from aiusage.components.layout import Area, NavEntry, signed_in_shell
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr
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


def console_table(
    table_id: str,
    rows: rx.Var,
    columns: Sequence[tuple[str, str]] | Sequence[str],
    row: Callable[[rx.Var], rx.Component] | None = None,
    *,
    row_class: str = "",
    link_field: str = "",
    nowrap: bool = False,
) -> rx.Component:
    """Every console table: a heading per column over a row per item of `rows`, scrolling
    sideways on a phone. A column is (the heading's catalog key, the item's field shown as
    text; `link_field`'s text links to the user's page of the item's `id`), or the heading
    alone when the page draws its own `row`. `nowrap`: headings and text cells on one line."""
    line = {"white_space": "nowrap"} if nowrap else {}

    def field_row(item: rx.Var) -> rx.Component:
        cells = []
        for _, field in columns:
            value = item[field]
            if field == link_field:
                value = rx.link(value, href=f"{routes.CONSOLE_USERS}/" + item["id"])
            cells.append(rx.table.cell(value, **line))
        return rx.table.row(*cells, class_name=row_class)

    headings = [column if isinstance(column, str) else column[0] for column in columns]
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(*[rx.table.column_header_cell(tr(key), **line) for key in headings])
            ),
            rx.table.body(rx.foreach(rows, row or field_row)),
            size="1",
            variant="surface",
            id=table_id,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def console_on_load(*events: object) -> list[object]:
    """A console page's on_load: the session (and language), then the page's own loads.
    Signed-out visitors never get here: the console's pages are guarded on the server."""
    return [SessionState.load_private, *events]
