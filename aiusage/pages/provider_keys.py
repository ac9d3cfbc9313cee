"""The provider keys section of the Keys page: each pool in order with the health the
proxy learned, adding a key after a check with the provider, editing, replacing the secret,
removing, and the spend per provider key."""

from __future__ import annotations

import reflex as rx

from aiusage.components.dialogs import confirm_dialog, form_dialog, form_message, labelled, row_of
from aiusage.components.text import tr, tr_var
from aiusage.state.keys import (
    PROVIDER_KEY_INPUT,
    PROVIDER_LABEL_INPUT,
    PROVIDER_LABELS,
    PROVIDER_PRIORITY_INPUT,
    REPLACE_KEY_INPUT,
    KeysState,
)


def _read_input(element_id: str) -> str:
    """A script giving the value typed in an input (a "Test" button reads the secret so; it
    goes to the server in that one event and never comes back)."""
    return f"document.getElementById('{element_id}')?.value ?? ''"


def test_key_button(input_id: str, on_check: rx.EventHandler, element_id: str) -> rx.Component:
    """ "Test": asks the provider about the key typed in `input_id`, stores nothing."""
    return rx.button(
        tr("keys.pool.test"),
        type="button",
        variant="soft",
        loading=KeysState.provider_busy,
        on_click=rx.call_script(_read_input(input_id), callback=on_check),
        id=element_id,
    )


def check_callout(key: rx.Var, element_id: str) -> rx.Component:
    """What the provider said of a key under test: accepted, refused, or no answer."""

    def callout(icon: str, color: str) -> rx.Component:
        return rx.callout(
            tr_var(key), icon=icon, color_scheme=color, role="status", id=element_id, width="100%"
        )

    return rx.match(
        key,
        ("", rx.fragment()),
        ("keys.check.ok", callout("circle-check", "green")),
        ("keys.check.refused", callout("triangle-alert", "red")),
        callout("info", "amber"),
    )


def state_badge(item: rx.Var) -> rx.Component:
    """The health the proxy learned from the key's answers."""
    return rx.match(
        item["state"],
        (
            "invalid",
            rx.badge(
                tr("keys.pool.state.invalid"),
                color_scheme="red",
                class_name="provider-key-state",
                data_state="invalid",
                white_space="normal",
            ),
        ),
        (
            "cooling",
            rx.badge(
                tr("keys.pool.state.cooling"),
                " ",
                item["until"],
                color_scheme="amber",
                class_name="provider-key-state",
                data_state="cooling",
                white_space="normal",
            ),
        ),
        rx.badge(
            tr("keys.pool.state.ok"),
            color_scheme="green",
            class_name="provider-key-state",
            data_state="ok",
        ),
    )


def remove_provider_button(item: rx.Var) -> rx.Component:
    return confirm_dialog(
        rx.button(
            tr("keys.pool.remove"),
            color_scheme="red",
            variant="soft",
            size="1",
            class_name="remove-provider-key",
            data_key_id=item["id"],
        ),
        title_key="keys.provider_delete_title",
        description=[
            rx.code(item["label"] + " ••••" + item["last4"]),
            " ",
            tr("keys.provider_delete_body"),
        ],
        confirm_key="keys.pool.remove",
        on_confirm=KeysState.remove_provider_key(item["id"]),
        confirm_id="confirm-remove-provider-key",
    )


POOL_COLUMNS = (
    "keys.pool.col.key",
    "keys.pool.col.priority",
    "keys.pool.col.weight",
    "keys.pool.col.state",
    "keys.col.actions",
)


def pool_table(provider: str, label: str) -> rx.Component:
    """One provider's keys, in the order the proxy tries them."""

    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(
                rx.hstack(
                    rx.text(item["label"], weight="medium", class_name="provider-key-label"),
                    rx.code("••••" + item["last4"], class_name="provider-key-last4"),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                )
            ),
            rx.table.cell(item["priority"], class_name="provider-key-priority"),
            rx.table.cell(item["weight"], class_name="provider-key-weight"),
            rx.table.cell(
                rx.vstack(
                    state_badge(item),
                    rx.cond(
                        item["last_error"] != "",
                        rx.text(
                            tr("keys.pool.last_error"),
                            " ",
                            item["last_error"],
                            size="1",
                            color_scheme="gray",
                            class_name="provider-key-error",
                        ),
                    ),
                    spacing="1",
                    max_width="320px",
                )
            ),
            rx.table.cell(
                rx.hstack(
                    rx.button(
                        tr("keys.edit"),
                        variant="soft",
                        size="1",
                        on_click=KeysState.open_provider_edit(item["id"]),
                        class_name="edit-provider-key",
                        data_key_id=item["id"],
                    ),
                    rx.button(
                        tr("keys.pool.replace"),
                        variant="soft",
                        size="1",
                        on_click=KeysState.open_provider_replace(item["id"]),
                        class_name="replace-provider-key",
                        data_key_id=item["id"],
                    ),
                    remove_provider_button(item),
                    spacing="2",
                    wrap="wrap",
                )
            ),
            class_name="provider-key-row",
            data_key_id=item["id"],
            data_provider=item["provider"],
        )

    pool = KeysState.provider_pools[provider].to(list[dict[str, str]])
    return rx.cond(
        pool.length() > 0,
        rx.vstack(
            rx.heading(label, size="3"),
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in POOL_COLUMNS])
                    ),
                    rx.table.body(rx.foreach(pool, row)),
                    variant="surface",
                    size="1",
                    id=f"provider-pool-{provider}",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
    )


def add_provider_key_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading(tr("keys.pool.add_title"), size="3"),
            check_callout(KeysState.provider_check, "provider-check"),
            row_of(
                labelled(
                    "keys.provider",
                    rx.select.root(
                        rx.select.trigger(id="provider-choice", width="100%"),
                        rx.select.content(
                            *[
                                rx.select.item(label, value=p)
                                for p, label in PROVIDER_LABELS.items()
                            ]
                        ),
                        name="provider",
                        value=KeysState.provider_choice,
                        on_change=KeysState.set_provider_choice,
                    ),
                    flex="1 1 140px",
                ),
                labelled(
                    "keys.provider_key",
                    rx.input(
                        name="provider_key",
                        id=PROVIDER_KEY_INPUT,
                        type="password",
                        auto_complete="off",
                        placeholder=rx.cond(
                            KeysState.provider_choice == "openai", "sk-…", "sk-ant-…"
                        ),
                        width="100%",
                    ),
                    flex="3 1 260px",
                ),
            ),
            row_of(
                labelled(
                    "keys.pool.label",
                    rx.input(
                        name="label",
                        id=PROVIDER_LABEL_INPUT,
                        placeholder="main",
                        max_length=64,
                        width="100%",
                    ),
                ),
                labelled(
                    "keys.pool.priority_optional",
                    rx.input(
                        name="priority",
                        id=PROVIDER_PRIORITY_INPUT,
                        input_mode="numeric",
                        placeholder="1",
                        width="100%",
                    ),
                    "keys.pool.priority_hint",
                    flex="2 1 240px",
                ),
            ),
            rx.hstack(
                test_key_button(PROVIDER_KEY_INPUT, KeysState.check_new_key, "test-provider-key"),
                rx.button(
                    rx.icon("plus", size=16),
                    tr("keys.provider_save"),
                    type="submit",
                    loading=KeysState.provider_busy,
                    id="save-provider-key",
                ),
                spacing="3",
            ),
            rx.text(tr("keys.pool.check_hint"), size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        on_submit=KeysState.save_provider_key,
        id="provider-key-form",
        width="100%",
    )


SPEND_COLUMNS = (
    "keys.spend.col.provider",
    "keys.spend.col.key",
    "keys.spend.col.requests",
    "keys.spend.col.cost",
    "keys.spend.col.charged",
)


def provider_spend_table() -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(item["provider"], class_name="spend-provider"),
            rx.table.cell(
                rx.cond(
                    item["platform"] != "",
                    rx.text(tr("keys.spend.platform_key"), color_scheme="gray"),
                    rx.code(item["key"]),
                ),
                class_name="spend-key",
            ),
            rx.table.cell(item["requests"], text_align="right", class_name="spend-requests"),
            rx.table.cell(item["cost"], text_align="right", class_name="spend-cost"),
            rx.table.cell(item["charged"], text_align="right", class_name="spend-charged"),
            class_name="provider-spend-row",
            data_key_id=item["key_id"],
        )

    return rx.vstack(
        rx.heading(tr("keys.spend.title"), size="3", id="provider-spend-title"),
        rx.cond(
            KeysState.provider_spend.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(
                                    tr(k), text_align="right" if i >= 2 else "left"
                                )
                                for i, k in enumerate(SPEND_COLUMNS)
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(KeysState.provider_spend, row)),
                    variant="surface",
                    size="1",
                    id="provider-spend-table",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text(
                tr("keys.spend.none"), color_scheme="gray", size="2", id="provider-spend-empty"
            ),
        ),
        spacing="2",
        width="100%",
    )


def provider_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("keys.provider_title"), size="4", id="provider-keys"),
            rx.text(tr("keys.provider_intro"), size="2", color_scheme="gray"),
            rx.text(tr("keys.pool.intro"), size="2", color_scheme="gray"),
            form_message(KeysState.provider_error, "red", "provider-error"),
            form_message(KeysState.provider_notice, "green", "provider-notice"),
            *[pool_table(p, label) for p, label in PROVIDER_LABELS.items()],
            add_provider_key_form(),
            rx.separator(size="4"),
            provider_spend_table(),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def provider_edit_dialog() -> rx.Component:
    """A pool key's label, priority and weight; the fields mount prefilled on each open."""
    values = KeysState.provider_edit_values
    return form_dialog(
        title=tr("keys.pool.edit_title"),
        description=rx.dialog.description(rx.code(values["name"]), size="2"),
        body=[
            form_message(KeysState.provider_edit_error, "red", "edit-provider-key-error"),
            rx.el.input(type="hidden", name="key_id", value=KeysState.provider_edit_id),
            labelled(
                "keys.pool.label",
                rx.input(
                    name="label",
                    id="edit-provider-key-label",
                    default_value=values["label"],
                    max_length=64,
                    width="100%",
                ),
                flex="1 1 auto",
            ),
            row_of(
                labelled(
                    "keys.pool.priority",
                    rx.input(
                        name="priority",
                        id="edit-provider-key-priority",
                        default_value=values["priority"],
                        input_mode="numeric",
                        width="100%",
                    ),
                    "keys.pool.priority_edit_hint",
                ),
                labelled(
                    "keys.pool.weight",
                    rx.input(
                        name="weight",
                        id="edit-provider-key-weight",
                        default_value=values["weight"],
                        input_mode="numeric",
                        width="100%",
                    ),
                    "keys.pool.weight_hint",
                ),
            ),
        ],
        buttons=[rx.button(tr("keys.edit_save"), type="submit", id="save-provider-key-edit")],
        on_submit=KeysState.save_provider_edit,
        form_id="edit-provider-key-form",
        dialog_id="edit-provider-key-dialog",
        open=KeysState.provider_edit_open,
        on_open_change=KeysState.set_provider_edit_open,
    )


def replace_dialog() -> rx.Component:
    """A new secret for a pool key: tested, or checked on saving, before it is stored."""
    return form_dialog(
        title=tr("keys.pool.replace_title"),
        description=rx.dialog.description(
            rx.code(KeysState.replace_name), " ", tr("keys.pool.replace_intro"), size="2"
        ),
        body=[
            form_message(KeysState.replace_error, "red", "replace-provider-key-error"),
            check_callout(KeysState.replace_check, "replace-provider-check"),
            rx.el.input(type="hidden", name="key_id", value=KeysState.replace_id),
            labelled(
                "keys.pool.new_secret",
                rx.input(
                    name="provider_key",
                    id=REPLACE_KEY_INPUT,
                    type="password",
                    auto_complete="off",
                    placeholder=rx.cond(KeysState.replace_provider == "openai", "sk-…", "sk-ant-…"),
                    width="100%",
                ),
                flex="1 1 auto",
            ),
        ],
        buttons=[
            test_key_button(
                REPLACE_KEY_INPUT, KeysState.check_replacement_key, "test-replacement-key"
            ),
            rx.button(
                tr("keys.pool.replace_save"),
                type="submit",
                loading=KeysState.provider_busy,
                id="save-provider-key-replace",
            ),
        ],
        on_submit=KeysState.save_provider_replace,
        form_id="replace-provider-key-form",
        dialog_id="replace-provider-key-dialog",
        open=KeysState.replace_open,
        on_open_change=KeysState.set_replace_open,
    )
