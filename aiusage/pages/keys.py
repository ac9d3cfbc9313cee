"""Keys (/dashboard/keys): proxy keys (create, shown once, revoke) and provider keys."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import dashboard_shell
from aiusage.components.messages import message_callout
from aiusage.components.text import tr
from aiusage.state.auth import SessionState
from aiusage.state.keys import NEW_KEY_INPUT, KeysState

COPY_NEW_KEY = (
    f"(() => {{ const el = document.getElementById('{NEW_KEY_INPUT}'); el.select();"
    " navigator.clipboard?.writeText(el.value).catch(() => document.execCommand('copy')); })()"
)


def _message(var, color: str, element_id: str) -> rx.Component:
    return message_callout(var, "error" if color == "red" else "notice", element_id)


def _labelled(label_key: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="1", weight="medium"), control, spacing="1", flex="1 1 160px"
    )


def new_key_panel() -> rx.Component:
    # Always in the page (hidden until a key is created) so the value can be set into it; a
    # plain div with the `hidden` attribute (a themed box's own display rule would win).
    return rx.el.div(
        rx.callout(
            rx.vstack(
                rx.text(tr("keys.created_title"), " ", KeysState.created_name, weight="bold"),
                rx.text(tr("keys.created_warning"), id="new-key-warning"),
                rx.hstack(
                    rx.input(
                        id=NEW_KEY_INPUT,
                        read_only=True,
                        font_family="monospace",
                        width="100%",
                        size="3",
                        aria_label="new proxy key",
                    ),
                    rx.button(
                        rx.icon("copy", size=16),
                        tr("common.copy"),
                        on_click=rx.call_script(COPY_NEW_KEY),
                        id="copy-new-key",
                        size="3",
                    ),
                    width="100%",
                ),
                rx.button(
                    tr("keys.created_done"),
                    variant="soft",
                    on_click=KeysState.dismiss_key,
                    id="dismiss-new-key",
                ),
                spacing="3",
                width="100%",
            ),
            icon="triangle-alert",
            color_scheme="amber",
            width="100%",
        ),
        hidden=~KeysState.key_created,
        id="new-key-panel",
        style={"width": "100%"},
    )


def create_form() -> rx.Component:
    return rx.form(
        rx.flex(
            _labelled(
                "keys.name",
                rx.input(name="name", id="key-name", placeholder="laptop", max_length=100),
            ),
            _labelled(
                "keys.spend_limit",
                rx.input(
                    name="spend_limit",
                    id="key-spend-limit",
                    placeholder="20.00",
                    input_mode="decimal",
                ),
            ),
            _labelled(
                "keys.rpm",
                rx.input(name="rpm", id="key-rpm", placeholder="60", input_mode="numeric"),
            ),
            rx.button(rx.icon("plus", size=16), tr("keys.create"), type="submit", id="create-key"),
            wrap="wrap",
            spacing="3",
            align="end",
            width="100%",
        ),
        on_submit=KeysState.create_key,
        reset_on_submit=True,
        id="create-key-form",
        width="100%",
    )


def revoke_button(item: rx.Var) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                tr("keys.revoke"),
                color_scheme="red",
                variant="soft",
                size="1",
                class_name="revoke-key",
                data_key_id=item["id"],
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr("keys.revoke_title")),
            rx.alert_dialog.description(
                tr("keys.revoke_body"), " ", rx.code(item["prefix"]), " (", item["name"], ")"
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft")),
                rx.alert_dialog.action(
                    rx.button(
                        tr("keys.revoke_confirm"),
                        color_scheme="red",
                        on_click=KeysState.revoke(item["id"]),
                        id="confirm-revoke",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )


def proxy_keys_table() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(item["name"], weight="medium"),
            rx.table.cell(rx.code(item["prefix"]), white_space="nowrap"),
            rx.table.cell(item["created"], white_space="nowrap"),
            rx.table.cell(
                rx.cond(item["last_used"] != "", item["last_used"], tr("keys.never")),
                white_space="nowrap",
            ),
            rx.table.cell(item["spent"], text_align="right"),
            rx.table.cell(
                rx.cond(item["limit"] != "", item["limit"], "—"),
                " / ",
                rx.cond(item["rpm"] != "", item["rpm"], "—"),
                white_space="nowrap",
            ),
            rx.table.cell(
                rx.cond(
                    item["revoked"] != "",
                    rx.badge(tr("keys.revoked"), color_scheme="gray"),
                    revoke_button(item),
                )
            ),
            class_name="proxy-key-row",
            data_key_id=item["id"],
        )

    return rx.cond(
        KeysState.proxy_keys.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(tr(k))
                            for k in (
                                "keys.col.name",
                                "keys.col.prefix",
                                "keys.col.created",
                                "keys.col.last_used",
                                "keys.col.spent",
                                "keys.col.limits",
                                "keys.col.actions",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(KeysState.proxy_keys, row)),
                variant="surface",
                size="1",
                id="proxy-keys-table",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.text(tr("keys.none"), color_scheme="gray", size="2", id="no-proxy-keys"),
    )


def provider_section() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.hstack(
            rx.badge(item["label"], size="2"),
            rx.code("••••" + item["last4"], class_name="provider-key-last4"),
            rx.spacer(),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(
                    rx.button(tr("common.delete"), color_scheme="red", variant="soft", size="1")
                ),
                rx.alert_dialog.content(
                    rx.alert_dialog.title(tr("keys.provider_delete_title")),
                    rx.alert_dialog.description(tr("keys.provider_delete_body")),
                    rx.flex(
                        rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft")),
                        rx.alert_dialog.action(
                            rx.button(
                                tr("common.delete"),
                                color_scheme="red",
                                on_click=KeysState.delete_provider_key(item["provider"]),
                            )
                        ),
                        spacing="3",
                        justify="end",
                        margin_top="1em",
                    ),
                ),
            ),
            width="100%",
            align="center",
            class_name="provider-key-row",
            data_provider=item["provider"],
        )

    return rx.card(
        rx.vstack(
            rx.heading(tr("keys.provider_title"), size="4", id="provider-keys"),
            rx.text(tr("keys.provider_intro"), size="2", color_scheme="gray"),
            _message(KeysState.provider_error, "red", "provider-error"),
            _message(KeysState.provider_notice, "green", "provider-notice"),
            rx.foreach(KeysState.provider_keys, row),
            rx.form(
                rx.flex(
                    _labelled(
                        "keys.provider",
                        rx.select.root(
                            rx.select.trigger(id="provider-choice"),
                            rx.select.content(
                                rx.select.item("Anthropic", value="anthropic"),
                                rx.select.item("OpenAI", value="openai"),
                            ),
                            name="provider",
                            value=KeysState.provider_choice,
                            on_change=KeysState.set_provider_choice,
                        ),
                    ),
                    rx.vstack(
                        rx.text(tr("keys.provider_key"), size="1", weight="medium"),
                        rx.input(
                            name="provider_key",
                            id="provider-key-input",
                            type="password",
                            auto_complete="off",
                            placeholder="sk-ant-…",
                            width="100%",
                        ),
                        spacing="1",
                        flex="3 1 240px",
                    ),
                    rx.button(tr("keys.provider_save"), type="submit", id="save-provider-key"),
                    wrap="wrap",
                    spacing="3",
                    align="end",
                    width="100%",
                ),
                on_submit=KeysState.save_provider_key,
                reset_on_submit=True,
                id="provider-key-form",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def keys_page() -> rx.Component:
    return dashboard_shell(
        "nav.keys",
        rx.card(
            rx.vstack(
                rx.heading(tr("keys.proxy_title"), size="4"),
                rx.text(tr("keys.proxy_intro"), size="2", color_scheme="gray"),
                _message(KeysState.error, "red", "keys-error"),
                _message(KeysState.notice, "green", "keys-notice"),
                new_key_panel(),
                create_form(),
                rx.skeleton(proxy_keys_table(), loading=~KeysState.loaded),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        provider_section(),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        keys_page,
        route="/dashboard/keys",
        title="aiusage · keys",
        on_load=[SessionState.load_private, KeysState.on_load],
    )
