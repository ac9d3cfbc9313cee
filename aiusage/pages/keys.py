"""Keys (/dashboard/keys): proxy keys (create with rules, shown once, edit, disable, revoke)
and provider key pools (add after a check with the provider, edit, replace the secret,
remove; the health the proxy learned; spend per key)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import dashboard_shell
from aiusage.components.messages import message_callout
from aiusage.components.text import tr, tr_var
from aiusage.services.key_rules import PERIODS
from aiusage.state.auth import SessionState
from aiusage.state.keys import (
    DEFAULT_PERIOD,
    NEW_KEY_INPUT,
    PROVIDER_KEY_INPUT,
    PROVIDER_LABEL_INPUT,
    PROVIDER_LABELS,
    PROVIDER_PRIORITY_INPUT,
    REPLACE_KEY_INPUT,
    KeysState,
)

COPY_NEW_KEY = (
    f"(() => {{ const el = document.getElementById('{NEW_KEY_INPUT}'); el.select();"
    " navigator.clipboard?.writeText(el.value).catch(() => document.execCommand('copy')); })()"
)


def _message(var, color: str, element_id: str) -> rx.Component:
    return message_callout(var, "error" if color == "red" else "notice", element_id)


def _labelled(
    label_key: str, control: rx.Component, hint_key: str | None = None, flex: str = "1 1 160px"
) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="1", weight="medium"),
        control,
        rx.text(tr(hint_key), size="1", color_scheme="gray") if hint_key else rx.fragment(),
        spacing="1",
        flex=flex,
    )


def _row_of(*children: rx.Component) -> rx.Component:
    return rx.flex(*children, wrap="wrap", spacing="3", align="start", width="100%")


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
        _row_of(
            _labelled("keys.name", text("name", "name", placeholder="laptop", max_length=100)),
            _labelled(
                "keys.spend_limit",
                text("spend_limit", "spend-limit", placeholder="20.00", input_mode="decimal"),
            ),
            _labelled("keys.rpm", text("rpm", "rpm", placeholder="60", input_mode="numeric")),
            _labelled("keys.tpm", text("tpm", "tpm", placeholder="100000", input_mode="numeric")),
        ),
        _row_of(
            _labelled(
                "keys.budget", text("budget", "budget", placeholder="5.00", input_mode="decimal")
            ),
            _labelled("keys.budget_period", period, "keys.budget_hint"),
            _labelled(
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
            _labelled("keys.expires", text("expires", "expires", type="date"), "keys.expires_hint"),
        ),
        _row_of(
            _labelled(
                "keys.models",
                text("models", "models", placeholder="claude-haiku-*, gpt-5*", max_length=2000),
                "keys.models_hint",
                flex="1 1 240px",
            ),
            _labelled(
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
    """One dialog for the key being edited; its fields mount prefilled each time it opens."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("keys.edit_title")),
            rx.dialog.description(tr("keys.edit_intro"), size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    _message(KeysState.edit_error, "red", "edit-key-error"),
                    rx.el.input(type="hidden", name="key_id", value=KeysState.edit_key_id),
                    *rule_fields("edit-key", KeysState.edit_values),
                    rx.flex(
                        rx.dialog.close(
                            rx.button(tr("common.cancel"), variant="soft", type="button")
                        ),
                        rx.button(tr("keys.edit_save"), type="submit", id="save-key-edit"),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=KeysState.save_edit,
                id="edit-key-form",
                width="100%",
            ),
            max_width="720px",
            id="edit-key-dialog",
        ),
        open=KeysState.edit_open,
        on_open_change=KeysState.set_edit_open,
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


def _read_input(element_id: str) -> str:
    """A script giving the value typed in an input (a "Test" button reads the secret so; it
    goes to the server in that one event and never comes back)."""
    return f"document.getElementById('{element_id}')?.value ?? ''"


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
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                tr("keys.pool.remove"),
                color_scheme="red",
                variant="soft",
                size="1",
                class_name="remove-provider-key",
                data_key_id=item["id"],
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr("keys.provider_delete_title")),
            rx.alert_dialog.description(
                rx.code(item["label"] + " ••••" + item["last4"]),
                " ",
                tr("keys.provider_delete_body"),
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft")),
                rx.alert_dialog.action(
                    rx.button(
                        tr("keys.pool.remove"),
                        color_scheme="red",
                        on_click=KeysState.remove_provider_key(item["id"]),
                        id="confirm-remove-provider-key",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
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
            _row_of(
                _labelled(
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
                _labelled(
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
            _row_of(
                _labelled(
                    "keys.pool.label",
                    rx.input(
                        name="label",
                        id=PROVIDER_LABEL_INPUT,
                        placeholder="main",
                        max_length=64,
                        width="100%",
                    ),
                ),
                _labelled(
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
                rx.button(
                    tr("keys.pool.test"),
                    type="button",
                    variant="soft",
                    loading=KeysState.provider_busy,
                    on_click=rx.call_script(
                        _read_input(PROVIDER_KEY_INPUT), callback=KeysState.check_new_key
                    ),
                    id="test-provider-key",
                ),
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
            _message(KeysState.provider_error, "red", "provider-error"),
            _message(KeysState.provider_notice, "green", "provider-notice"),
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
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("keys.pool.edit_title")),
            rx.dialog.description(rx.code(values["name"]), size="2"),
            rx.form(
                rx.vstack(
                    _message(KeysState.provider_edit_error, "red", "edit-provider-key-error"),
                    rx.el.input(type="hidden", name="key_id", value=KeysState.provider_edit_id),
                    _labelled(
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
                    _row_of(
                        _labelled(
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
                        _labelled(
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
                    rx.flex(
                        rx.dialog.close(
                            rx.button(tr("common.cancel"), variant="soft", type="button")
                        ),
                        rx.button(tr("keys.edit_save"), type="submit", id="save-provider-key-edit"),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=KeysState.save_provider_edit,
                id="edit-provider-key-form",
                width="100%",
            ),
            max_width="560px",
            id="edit-provider-key-dialog",
        ),
        open=KeysState.provider_edit_open,
        on_open_change=KeysState.set_provider_edit_open,
    )


def replace_dialog() -> rx.Component:
    """A new secret for a pool key: tested, or checked on saving, before it is stored."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("keys.pool.replace_title")),
            rx.dialog.description(
                rx.code(KeysState.replace_name), " ", tr("keys.pool.replace_intro"), size="2"
            ),
            rx.form(
                rx.vstack(
                    _message(KeysState.replace_error, "red", "replace-provider-key-error"),
                    check_callout(KeysState.replace_check, "replace-provider-check"),
                    rx.el.input(type="hidden", name="key_id", value=KeysState.replace_id),
                    _labelled(
                        "keys.pool.new_secret",
                        rx.input(
                            name="provider_key",
                            id=REPLACE_KEY_INPUT,
                            type="password",
                            auto_complete="off",
                            placeholder=rx.cond(
                                KeysState.replace_provider == "openai", "sk-…", "sk-ant-…"
                            ),
                            width="100%",
                        ),
                        flex="1 1 auto",
                    ),
                    rx.flex(
                        rx.dialog.close(
                            rx.button(tr("common.cancel"), variant="soft", type="button")
                        ),
                        rx.button(
                            tr("keys.pool.test"),
                            type="button",
                            variant="soft",
                            loading=KeysState.provider_busy,
                            on_click=rx.call_script(
                                _read_input(REPLACE_KEY_INPUT),
                                callback=KeysState.check_replacement_key,
                            ),
                            id="test-replacement-key",
                        ),
                        rx.button(
                            tr("keys.pool.replace_save"),
                            type="submit",
                            loading=KeysState.provider_busy,
                            id="save-provider-key-replace",
                        ),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=KeysState.save_provider_replace,
                id="replace-provider-key-form",
                width="100%",
            ),
            max_width="560px",
            id="replace-provider-key-dialog",
        ),
        open=KeysState.replace_open,
        on_open_change=KeysState.set_replace_open,
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
    app.add_page(
        keys_page,
        route="/dashboard/keys",
        title="aiusage · keys",
        on_load=[SessionState.load_private, KeysState.on_load],
    )
