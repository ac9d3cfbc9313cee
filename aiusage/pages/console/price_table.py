"""The console's price table (/admin/prices): one row per model with its rates, source and
actions, and the form that edits a row or adds one (admins save; the support role sees the
form with its Save off, and the server refuses it). The cell the page's other tables share
(a model with its provider) is here too."""

from __future__ import annotations

import reflex as rx

from aiusage.components.dialogs import confirm_dialog, labelled, row_of
from aiusage.components.text import tr, tr_var
from aiusage.pages.console.shell import console_table
from aiusage.services import price_admin
from aiusage.state.console_prices import ConsolePricesState

S = ConsolePricesState
RATE_COLUMNS = (*price_admin.RATES, "max_output_tokens", "web_search", "web_fetch")


def model_cell(item: rx.Var) -> rx.Component:
    """A model with its provider: the first cell of each of the page's tables."""
    return rx.table.cell(
        rx.hstack(
            rx.badge(item["provider"], color_scheme="gray", variant="soft"),
            rx.code(item["model"], overflow_wrap="anywhere"),
            spacing="2",
            align="center",
        ),
        white_space="nowrap",
    )


def or_dash(value: rx.Var) -> rx.Component:
    return rx.cond(value != "", value, "—")


# --- the price table -----------------------------------------------------------------------


def _source_cell(item: rx.Var) -> rx.Component:
    # One line each (the whole source on hover): the table stays one row per model.
    return rx.table.cell(
        rx.vstack(
            rx.text(
                rx.cond(item["source"] != "", item["source"], tr("prices.source.none")),
                size="1",
                white_space="nowrap",
                overflow="hidden",
                text_overflow="ellipsis",
                max_width="300px",
                title=item["source"],
                class_name="price-source",
            ),
            rx.cond(
                item["seed"] != "",
                rx.text(tr("prices.source.seed"), " ", item["seed"], size="1", color_scheme="gray"),
                rx.text(item["source_by"], " · ", item["source_at"], size="1", color_scheme="gray"),
            ),
            spacing="0",
        ),
        white_space="nowrap",
    )


def table_section() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            model_cell(item),
            *[
                rx.table.cell(
                    or_dash(item["max_output_view" if name == "max_output_tokens" else name]),
                    text_align="right",
                    white_space="nowrap",
                    class_name=f"price-{name}",
                )
                for name in RATE_COLUMNS
            ],
            rx.table.cell(or_dash(item["long_view"]), white_space="nowrap"),
            _source_cell(item),
            rx.table.cell(
                rx.hstack(
                    rx.button(
                        tr("prices.edit"),
                        size="1",
                        variant="soft",
                        on_click=S.open_edit(item["key"]),
                        class_name="edit-price",
                    ),
                    rx.button(
                        tr("prices.history"),
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.open_history(item["key"]),
                        class_name="price-history",
                    ),
                    spacing="2",
                )
            ),
            class_name="price-row",
            data_model=item["model"],
            data_provider=item["provider"],
        )

    headings = [
        "prices.col.model",
        *[f"prices.col.{name}" for name in RATE_COLUMNS],
        "prices.col.long",
        "prices.col.source",
        "prices.col.actions",
    ]
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(tr("prices.table.title"), size="4"),
                rx.spacer(),
                rx.button(
                    rx.icon("plus", size=16),
                    tr("prices.add"),
                    on_click=S.open_new,
                    id="add-price",
                    disabled=~S.can_edit,
                ),
                rx.button(
                    rx.icon("list-checks", size=16),
                    tr("prices.check"),
                    variant="soft",
                    on_click=S.check_list_prices,
                    loading=S.checking,
                    id="check-list-prices",
                ),
                spacing="2",
                wrap="wrap",
                align="center",
                width="100%",
            ),
            rx.text(tr("prices.table.units"), size="2", color_scheme="gray"),
            console_table("price-table", S.rows, headings, row, nowrap=True),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


# --- the price form ------------------------------------------------------------------------


def _input(name: str, **props) -> rx.Component:
    return rx.input(
        name=name,
        id=f"price-{name.replace('_', '-')}",
        default_value=S.edit_values[name],
        width="100%",
        **props,
    )


def _usd(name: str) -> rx.Component:
    return labelled(
        f"prices.field.{name}", _input(name, input_mode="decimal", max_length=16), flex="1 1 110px"
    )


def _name_fields() -> rx.Component:
    provider = rx.select.root(
        rx.select.trigger(id="price-provider", width="100%"),
        rx.select.content(
            *[rx.select.item(p, value=p) for p in price_admin.PROVIDERS],
        ),
        name="provider",
        default_value=S.edit_values["provider"],
    )
    return rx.cond(
        S.edit_existing,
        rx.hstack(
            rx.badge(S.edit_values["provider"], color_scheme="gray"),
            rx.code(S.edit_values["model"], id="price-model-fixed", overflow_wrap="anywhere"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        row_of(
            labelled("prices.field.provider", provider, flex="0 1 160px"),
            labelled(
                "prices.field.model",
                _input("model", max_length=price_admin.MAX_MODEL_CHARS, placeholder="claude-…"),
                flex="1 1 240px",
            ),
        ),
    )


def _form_error() -> rx.Component:
    return rx.cond(
        S.edit_error != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.callout.text(
                rx.cond(S.edit_error_field != "", tr_var(S.edit_error_field) + ": ", ""),
                tr_var(S.edit_error),
            ),
            color_scheme="red",
            role="alert",
            id="price-form-error",
            width="100%",
        ),
    )


def _prefill_note() -> rx.Component:
    return rx.cond(
        S.edit_prefill != "",
        rx.callout(
            rx.cond(
                S.edit_prefill == "listed",
                tr("prices.form.prefilled"),
                tr("prices.form.not_listed"),
            ),
            icon="info",
            color_scheme=rx.cond(S.edit_prefill == "listed", "blue", "amber"),
            id="price-prefill-note",
            width="100%",
        ),
    )


def _delete_button() -> rx.Component:
    return confirm_dialog(
        rx.button(
            tr("prices.delete"),
            color_scheme="red",
            variant="soft",
            type="button",
            disabled=~S.can_edit,
            id="delete-price",
        ),
        title_key="prices.delete_title",
        description=[tr("prices.delete_body")],
        confirm_key="prices.delete_confirm",
        on_confirm=S.delete,
        confirm_id="confirm-delete-price",
    )


def edit_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.cond(S.edit_existing, tr("prices.form.title_edit"), tr("prices.form.title_new"))
            ),
            rx.dialog.description(tr("prices.form.intro"), size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    _prefill_note(),
                    rx.cond(
                        ~S.can_edit,
                        rx.callout(
                            tr("prices.read_only"),
                            icon="lock",
                            color_scheme="gray",
                            id="price-read-only",
                            width="100%",
                        ),
                    ),
                    _form_error(),
                    _name_fields(),
                    row_of(*[_usd(name) for name in price_admin.RATES]),
                    rx.heading(tr("prices.form.long_title"), size="2", margin_top="0.5em"),
                    rx.text(tr("prices.form.long_hint"), size="1", color_scheme="gray"),
                    row_of(
                        labelled(
                            "prices.field.long_threshold",
                            _input("long_threshold", input_mode="numeric", max_length=10),
                            flex="1 1 110px",
                        ),
                        *[_usd(name) for name in price_admin.LONG_RATES],
                    ),
                    row_of(
                        labelled(
                            "prices.field.max_output_tokens",
                            _input("max_output_tokens", input_mode="numeric", max_length=8),
                            "prices.form.max_output_hint",
                            flex="1 1 160px",
                        ),
                        labelled(
                            "prices.field.web_search",
                            _input("web_search", input_mode="decimal", max_length=16),
                            "prices.form.fee_hint",
                            flex="1 1 160px",
                        ),
                        labelled(
                            "prices.field.web_fetch",
                            _input("web_fetch", input_mode="decimal", max_length=16),
                            "prices.form.fee_hint",
                            flex="1 1 160px",
                        ),
                    ),
                    row_of(
                        labelled(
                            "prices.field.source",
                            _input("source", max_length=price_admin.MAX_SOURCE_CHARS),
                            "prices.form.source_hint",
                            flex="1 1 100%",
                        ),
                    ),
                    rx.text(tr("prices.form.applies"), size="1", color_scheme="gray"),
                    rx.flex(
                        rx.cond(S.edit_existing, _delete_button()),
                        rx.spacer(),
                        rx.dialog.close(
                            rx.button(tr("common.cancel"), variant="soft", type="button")
                        ),
                        rx.button(
                            tr("prices.save"), type="submit", id="save-price", disabled=~S.can_edit
                        ),
                        spacing="3",
                        width="100%",
                        wrap="wrap",
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=S.save,
                id="price-form",
                width="100%",
            ),
            max_width="820px",
            id="price-dialog",
        ),
        open=S.edit_open,
        on_open_change=S.set_edit_open,
    )
