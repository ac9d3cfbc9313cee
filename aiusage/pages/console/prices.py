"""The console's Prices page (/admin/prices): the models billed at the default price (each
one click from a prefilled form), the price table with each row's source, history and edit
form (pages/console/price_table.py), and the list prices proposed by the genai-prices
package. Admins change prices; the support role reads them."""

from __future__ import annotations

import reflex as rx

from aiusage.components.dialogs import confirm_dialog
from aiusage.components.text import tr, tr_var
from aiusage.pages.console.price_table import S, edit_dialog, model_cell, table_section
from aiusage.pages.console.shell import console_on_load, console_shell, console_table
from aiusage.state.console_prices import ROUTE

# --- unknown models ------------------------------------------------------------------------


def queue_section() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            model_cell(item),
            rx.table.cell(item["requests"], text_align="right"),
            rx.table.cell(item["last_seen"], white_space="nowrap"),
            rx.table.cell(
                rx.button(
                    tr("prices.queue.price_it"),
                    size="1",
                    on_click=S.price_unknown(item["key"]),
                    class_name="price-it",
                    data_model=item["model"],
                )
            ),
            class_name="unknown-model-row",
            data_model=item["model"],
            data_provider=item["provider"],
        )

    return rx.card(
        rx.vstack(
            rx.heading(tr("prices.queue.title"), size="4"),
            rx.text(tr("prices.queue.intro"), size="2", color_scheme="gray"),
            rx.cond(
                S.queue.length() > 0,
                console_table(
                    "unknown-models",
                    S.queue,
                    [
                        "prices.col.model",
                        "prices.queue.requests",
                        "prices.queue.last_seen",
                        "prices.col.actions",
                    ],
                    row,
                    nowrap=True,
                ),
                rx.text(tr("prices.queue.empty"), size="2", id="no-unknown-models"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="unknown-models-card",
    )


# --- list prices ---------------------------------------------------------------------------


def _accept_all_button() -> rx.Component:
    # Every proposal at once can remove a tier or lower a fee: asked again first.
    return confirm_dialog(
        rx.button(
            tr("prices.sync.accept_all"),
            variant="soft",
            disabled=~S.can_edit,
            id="accept-all-proposals",
        ),
        title_key="prices.sync.accept_all_title",
        description=[tr("prices.sync.accept_all_body"), " (", S.proposals.length(), ")"],
        confirm_key="prices.sync.accept_all",
        on_confirm=S.accept_all,
        confirm_id="confirm-accept-all",
        color_scheme=None,
    )


def proposals_section() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            model_cell(item),
            rx.table.cell(
                rx.badge(
                    tr_var(item["kind"]),
                    color_scheme=rx.cond(item["kind"] == "prices.sync.kind.new", "green", "amber"),
                )
            ),
            rx.table.cell(
                rx.text(item["changes"], size="1", overflow_wrap="anywhere"),
                min_width="240px",
            ),
            rx.table.cell(
                rx.button(
                    tr("prices.sync.accept"),
                    size="1",
                    on_click=S.accept(item["key"]),
                    disabled=~S.can_edit,
                    class_name="accept-proposal",
                )
            ),
            class_name="proposal-row",
            data_model=item["model"],
            data_provider=item["provider"],
        )

    return rx.cond(
        S.proposals_checked,
        rx.card(
            rx.vstack(
                rx.flex(
                    rx.heading(
                        tr("prices.sync.title"), " (genai-prices ", S.list_version, ")", size="4"
                    ),
                    rx.spacer(),
                    rx.cond(S.proposals.length() > 0, _accept_all_button()),
                    wrap="wrap",
                    spacing="2",
                    width="100%",
                ),
                rx.text(tr("prices.sync.intro"), size="2", color_scheme="gray"),
                rx.text(
                    tr("prices.col.source"),
                    ": ",
                    S.list_sources,
                    size="1",
                    color_scheme="gray",
                    overflow_wrap="anywhere",
                    id="proposal-sources",
                ),
                rx.cond(
                    S.proposals.length() > 0,
                    # Scrolls on its own: the table below stays a scroll away.
                    rx.box(
                        console_table(
                            "proposals",
                            S.proposals,
                            [
                                "prices.col.model",
                                "prices.sync.col.kind",
                                "prices.sync.col.changes",
                                "prices.col.actions",
                            ],
                            row,
                            nowrap=True,
                        ),
                        max_height="480px",
                        overflow_y="auto",
                        width="100%",
                    ),
                    rx.text(tr("prices.sync.none"), size="2", id="no-proposals"),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="proposals-card",
        ),
    )


# --- history -------------------------------------------------------------------------------


def history_dialog() -> rx.Component:
    def entry(item: rx.Var) -> rx.Component:
        return rx.box(
            rx.text(
                rx.text.strong(tr_var(item["action"])),
                " · ",
                item["at"],
                " · ",
                item["actor"],
                size="2",
            ),
            rx.text(item["changes"], size="1", overflow_wrap="anywhere"),
            rx.cond(
                item["source"] != "",
                rx.text(
                    tr("prices.field.source"),
                    ": ",
                    item["source"],
                    size="1",
                    color_scheme="gray",
                    overflow_wrap="anywhere",
                ),
            ),
            class_name="history-entry",
            padding_y="0.5em",
            border_bottom="1px solid var(--gray-a4)",
            width="100%",
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("prices.history.title")),
            rx.dialog.description(rx.code(S.history_model), size="2"),
            rx.vstack(
                rx.cond(
                    S.history.length() > 0,
                    rx.foreach(S.history, entry),
                    rx.text(tr("prices.history.empty"), size="2", id="no-price-history"),
                ),
                rx.flex(
                    rx.dialog.close(rx.button(tr("prices.close"), variant="soft")),
                    justify="end",
                    width="100%",
                ),
                spacing="2",
                width="100%",
                margin_top="1em",
            ),
            max_width="720px",
            id="history-dialog",
        ),
        open=S.history_open,
        on_open_change=S.set_history_open,
    )


def prices_page() -> rx.Component:
    return console_shell(
        "console.nav.prices",
        rx.text(tr("prices.intro"), size="2", color_scheme="gray", id="prices-intro"),
        rx.cond(
            S.loaded & ~S.can_edit,
            rx.callout(
                tr("prices.read_only"), icon="lock", color_scheme="gray", id="prices-read-only"
            ),
        ),
        rx.skeleton(
            rx.vstack(
                queue_section(),
                proposals_section(),
                table_section(),
                spacing="4",
                width="100%",
            ),
            loading=~S.loaded,
        ),
        edit_dialog(),
        history_dialog(),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        prices_page,
        route=ROUTE,
        title="aiusage · console · prices",
        on_load=console_on_load(S.load),
    )
