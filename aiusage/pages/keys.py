"""Keys (/dashboard/keys): proxy keys (create with rules, shown once, edit, disable, revoke);
the provider key pools below them come from pages/provider_keys.py."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.copy import copy_button
from aiusage.components.dialogs import confirm_dialog, form_dialog, form_message, labelled, row_of
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr, tr_var
from aiusage.pages.provider_keys import provider_edit_dialog, provider_section, replace_dialog
from aiusage.pages.registry import add_dashboard_page
from aiusage.services.key_forms import DEFAULT_PERIOD
from aiusage.services.key_rules import PERIODS
from aiusage.state.keys import NEW_KEY_INPUT, KeysState


def rule_fields(id_prefix: str, values: rx.Var | None = None) -> list[rx.Component]:
    """A key's name and rules as form fields: empty for a new key (`id_prefix` "key"),
    prefilled from `values` in the edit dialog ("edit-key")."""

    def text(name: str, suffix: str, **props) -> rx.Component:
        if values is not None:
            props["default_value"] = values[name]
        return rx.input(name=name, id=f"{id_prefix}-{suffix}", width="100%", **props)

    period = rx.select.root(
        rx.select.trigger(id=f"{id_prefix}-budget-period", width="100%"),
        rx.select.content(*[rx.select.item(tr(f"keys.period.{p}"), value=p) for p in PERIODS]),
        name="budget_period",
        default_value=values["budget_period"] if values is not None else DEFAULT_PERIOD,
    )
    return [
        row_of(
            labelled("keys.name", text("name", "name", placeholder="laptop", max_length=100)),
            labelled(
                "keys.spend_limit",
                text("spend_limit", "spend-limit", placeholder="20.00", input_mode="decimal"),
            ),
            labelled("keys.rpm", text("rpm", "rpm", placeholder="60", input_mode="numeric")),
            labelled("keys.tpm", text("tpm", "tpm", placeholder="100000", input_mode="numeric")),
        ),
        row_of(
            labelled(
                "keys.budget", text("budget", "budget", placeholder="5.00", input_mode="decimal")
            ),
            labelled("keys.budget_period", period, "keys.budget_hint"),
            labelled(
                "keys.budget_alerts",
                text(
                    "budget_alerts",
                    "budget-alerts",
                    placeholder="50, 80, 100",
                    max_length=32,
                    **({} if values is not None else {"default_value": "50, 80, 100"}),
                ),
                "keys.budget_alerts_hint",
            ),
            labelled("keys.expires", text("expires", "expires", type="date"), "keys.expires_hint"),
        ),
        row_of(
            labelled(
                "keys.models",
                text("models", "models", placeholder="claude-haiku-*, gpt-5*", max_length=2000),
                "keys.models_hint",
                flex="1 1 240px",
            ),
            labelled(
                "keys.networks",
                text("networks", "networks", placeholder="203.0.113.0/24", max_length=2000),
                "keys.networks_hint",
                flex="1 1 240px",
            ),
        ),
    ]


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
                    copy_button(NEW_KEY_INPUT, "copy-new-key", size="3", variant="solid"),
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
        rx.vstack(
            rx.text(tr("keys.rules_hint"), size="1", color_scheme="gray"),
            *rule_fields("key"),
            rx.button(rx.icon("plus", size=16), tr("keys.create"), type="submit", id="create-key"),
            spacing="3",
            width="100%",
        ),
        on_submit=KeysState.create_key,
        reset_on_submit=True,
        id="create-key-form",
        width="100%",
    )


def edit_dialog() -> rx.Component:
    """A key's name and rules, prefilled; only the fields changed are saved."""
    return form_dialog(
        title=tr("keys.edit_title"),
        description=rx.dialog.description(tr("keys.edit_intro"), size="2", color_scheme="gray"),
        body=[
            form_message(KeysState.edit_error, "red", "edit-key-error"),
            rx.el.input(type="hidden", name="key_id", value=KeysState.edit_key_id),
            *rule_fields("edit-key", KeysState.edit_values),
        ],
        buttons=[rx.button(tr("keys.edit_save"), type="submit", id="save-key-edit")],
        on_submit=KeysState.save_edit,
        form_id="edit-key-form",
        dialog_id="edit-key-dialog",
        open=KeysState.edit_open,
        on_open_change=KeysState.set_edit_open,
        max_width="720px",
    )


def revoke_button(item: rx.Var) -> rx.Component:
    return confirm_dialog(
        rx.button(
            tr("keys.revoke"),
            color_scheme="red",
            variant="soft",
            size="1",
            class_name="revoke-key",
            data_key_id=item["id"],
        ),
        title_key="keys.revoke_title",
        description=[
            tr("keys.revoke_body"),
            " ",
            rx.code(item["prefix"]),
            " (",
            item["name"],
            ")",
        ],
        confirm_key="keys.revoke_confirm",
        on_confirm=KeysState.revoke(item["id"]),
        confirm_id="confirm-revoke",
    )


def _rule(class_name: str, *children) -> rx.Component:
    # Allow-lists can be long: they wrap, anywhere, rather than widen the page.
    return rx.text(*children, size="1", class_name=class_name, overflow_wrap="anywhere")


def rules_cell(item: rx.Var) -> rx.Component:
    """A key's rules, one short line each; "No limits" without any."""
    has_rate = (item["rpm"] != "") | (item["tpm"] != "")
    any_rule = (
        (item["limit"] != "")
        | has_rate
        | (item["budget"] != "")
        | (item["models"] != "")
        | (item["networks"] != "")
        | (item["expires"] != "")
    )
    return rx.vstack(
        rx.cond(
            item["limit"] != "",
            _rule("key-limit", tr("keys.rule.limit"), " ", item["limit"]),
        ),
        rx.cond(
            has_rate,
            _rule(
                "key-rates",
                rx.cond(item["rpm"] != "", item["rpm"] + " ", ""),
                rx.cond(item["rpm"] != "", tr("keys.rule.rpm"), ""),
                rx.cond((item["rpm"] != "") & (item["tpm"] != ""), " · ", ""),
                rx.cond(item["tpm"] != "", item["tpm"] + " ", ""),
                rx.cond(item["tpm"] != "", tr("keys.rule.tpm"), ""),
            ),
        ),
        rx.cond(
            item["budget"] != "",
            _rule(
                "key-budget",
                tr("keys.rule.budget"),
                " ",
                item["budget_spent"],
                " / ",
                item["budget"],
                " ",
                tr_var(item["budget_period"]),
                " · ",
                tr("keys.rule.resets"),
                " ",
                item["resets"],
            ),
        ),
        rx.cond(
            item["models"] != "",
            _rule("key-models", tr("keys.rule.models"), " ", rx.code(item["models"])),
        ),
        rx.cond(
            item["networks"] != "",
            _rule("key-networks", tr("keys.rule.networks"), " ", rx.code(item["networks"])),
        ),
        rx.cond(
            item["expires"] != "",
            _rule("key-expires", tr("keys.rule.expires"), " ", item["expires"]),
        ),
        rx.cond(~any_rule, rx.text(tr("keys.rule.none"), size="1", color_scheme="gray")),
        spacing="1",
        min_width="200px",
        max_width="420px",
    )


def edit_button(item: rx.Var) -> rx.Component:
    return rx.button(
        tr("keys.edit"),
        variant="soft",
        size="1",
        on_click=KeysState.open_edit(item["id"]),
        class_name="edit-key",
        data_key_id=item["id"],
    )


def toggle_button(item: rx.Var) -> rx.Component:
    disabled = item["disabled"] != ""
    return rx.button(
        rx.cond(disabled, tr("keys.enable"), tr("keys.disable")),
        variant="soft",
        color_scheme=rx.cond(disabled, "green", "amber"),
        size="1",
        # Enables a disabled key, disables an enabled one.
        on_click=KeysState.set_key_enabled(item["id"], disabled),
        class_name="toggle-key",
        data_key_id=item["id"],
    )


def key_actions(item: rx.Var) -> rx.Component:
    return rx.cond(
        item["revoked"] != "",
        rx.badge(tr("keys.revoked"), color_scheme="gray"),
        rx.hstack(
            rx.cond(item["expired"] != "", rx.badge(tr("keys.expired"), color_scheme="gray")),
            edit_button(item),
            rx.cond(item["expired"] == "", toggle_button(item)),
            revoke_button(item),
            spacing="2",
            align="center",
        ),
    )


COLUMNS = (
    "keys.col.name",
    "keys.col.prefix",
    "keys.col.created",
    "keys.col.last_used",
    "keys.col.spent",
    "keys.col.limits",
    "keys.col.actions",
)


def keys_table(items: rx.Var, table_id: str) -> rx.Component:
    def row(item: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(
                rx.hstack(
                    rx.text(item["name"], weight="medium"),
                    rx.cond(
                        item["disabled"] != "",
                        rx.badge(
                            tr("keys.disabled"), color_scheme="amber", class_name="key-disabled"
                        ),
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
            ),
            rx.table.cell(rx.code(item["prefix"]), white_space="nowrap"),
            rx.table.cell(item["created"], white_space="nowrap"),
            rx.table.cell(
                rx.cond(item["last_used"] != "", item["last_used"], tr("keys.never")),
                white_space="nowrap",
            ),
            rx.table.cell(item["spent"], text_align="right"),
            rx.table.cell(rules_cell(item)),
            rx.table.cell(key_actions(item)),
            class_name="proxy-key-row",
            data_key_id=item["id"],
        )

    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in COLUMNS])),
            rx.table.body(rx.foreach(items, row)),
            variant="surface",
            size="1",
            id=table_id,
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def proxy_keys_tables() -> rx.Component:
    """Active keys (disabled ones included), then revoked and expired ones apart below."""
    return rx.vstack(
        rx.cond(
            KeysState.active_keys.length() > 0,
            keys_table(KeysState.active_keys, "proxy-keys-table"),
            rx.cond(
                KeysState.retired_keys.length() > 0,
                rx.text(tr("keys.none_active"), color_scheme="gray", size="2", id="no-active-keys"),
                rx.text(tr("keys.none"), color_scheme="gray", size="2", id="no-proxy-keys"),
            ),
        ),
        rx.cond(
            KeysState.retired_keys.length() > 0,
            rx.vstack(
                rx.heading(tr("keys.retired_title"), size="3", id="retired-keys-title"),
                keys_table(KeysState.retired_keys, "retired-keys-table"),
                spacing="2",
                width="100%",
                margin_top="1em",
            ),
        ),
        spacing="3",
        width="100%",
    )


def keys_page() -> rx.Component:
    return dashboard_shell(
        "nav.keys",
        rx.card(
            rx.vstack(
                rx.heading(tr("keys.proxy_title"), size="4"),
                rx.text(tr("keys.proxy_intro"), size="2", color_scheme="gray"),
                form_message(KeysState.error, "red", "keys-error"),
                form_message(KeysState.notice, "green", "keys-notice"),
                new_key_panel(),
                create_form(),
                rx.heading(tr("keys.active_title"), size="3", id="active-keys-title"),
                rx.skeleton(proxy_keys_tables(), loading=~KeysState.loaded),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        provider_section(),
        edit_dialog(),
        provider_edit_dialog(),
        replace_dialog(),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, keys_page, routes.KEYS, "nav.keys", KeysState.on_load)
