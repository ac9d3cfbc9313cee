"""The console's users: the search (/admin/users) and one account (/admin/users/[user_id])
with its balance, holds, ledger, keys (no secrets), sessions, support messages and actions."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr
from aiusage.pages.console.shell import console_on_load, console_shell, console_table
from aiusage.state.console_users import ConsoleUsersState, ConsoleUserState


def users_page() -> rx.Component:
    return console_shell(
        "console.nav.users",
        rx.form(
            rx.hstack(
                rx.input(
                    name="query",
                    id="user-search",
                    placeholder=tr("console.users.search_hint"),
                    default_value=ConsoleUsersState.query,
                    width="100%",
                    max_width="28em",
                ),
                rx.button(tr("console.users.search"), type="submit", id="user-search-submit"),
                width="100%",
            ),
            on_submit=ConsoleUsersState.search,
            width="100%",
        ),
        console_table(
            "users-table",
            ConsoleUsersState.results,
            [
                ("console.users.email", "email"),
                ("console.users.balance", "balance"),
                ("console.users.role", "role"),
                ("console.users.state", "state"),
                ("console.users.created", "created"),
            ],
            row_class="user-row",
            link_field="email",
        ),
    )


def _fact(label_key: str, value: rx.Var, fact_id: str) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(tr(label_key)), rx.data_list.value(value, id=fact_id)
    )


def _flag(value: rx.Var) -> rx.Component:
    return rx.cond(value == "1", tr("console.user.yes"), tr("console.user.no"))


def _reason_form(
    title_key: str, button_key: str, handler, form_id: str, *extra: rx.Component, **button
) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(tr(title_key), weight="bold", size="2"),
            *extra,
            rx.input(
                name="reason", placeholder=tr("console.user.reason"), required=True, width="100%"
            ),
            rx.button(tr(button_key), type="submit", **button),
            spacing="2",
            width="100%",
        ),
        on_submit=handler,
        reset_on_submit=True,
        id=form_id,
        width="100%",
    )


def actions() -> rx.Component:
    suspended = ConsoleUserState.user["suspended"] == "1"
    return rx.card(
        rx.vstack(
            rx.heading(tr("console.user.actions"), size="4"),
            rx.grid(
                _reason_form(
                    "console.user.adjust",
                    "console.user.adjust_button",
                    ConsoleUserState.adjust_credit,
                    "adjust-form",
                    rx.input(
                        name="amount",
                        placeholder=tr("console.user.amount_hint"),
                        input_mode="decimal",
                        required=True,
                        width="100%",
                    ),
                ),
                _reason_form(
                    "console.user.suspension",
                    "console.user.suspension_button",
                    ConsoleUserState.set_suspended,
                    "suspend-form",
                    rx.el.input(type="hidden", name="suspend", value=rx.cond(suspended, "0", "1")),
                    rx.text(
                        rx.cond(
                            suspended,
                            tr("console.user.suspended_now"),
                            tr("console.user.active_now"),
                        ),
                        size="1",
                        color_scheme="gray",
                    ),
                    color_scheme=rx.cond(suspended, "green", "red"),
                ),
                _reason_form(
                    "console.user.refund",
                    "console.user.refund_button",
                    ConsoleUserState.refund_topup,
                    "refund-form",
                    rx.el.select(
                        rx.foreach(
                            ConsoleUserState.refundable,
                            lambda e: rx.el.option(e["label"], value=e["id"]),
                        ),
                        name="entry",
                        id="refund-entry",
                        style={"padding": "0.4em", "width": "100%"},
                    ),
                    rx.text(tr("console.user.refund_hint"), size="1", color_scheme="gray"),
                    color_scheme="red",
                    variant="soft",
                ),
                _reason_form(
                    "console.user.reset_2fa",
                    "console.user.reset_2fa_button",
                    ConsoleUserState.reset_two_factor,
                    "reset-2fa-form",
                    color_scheme="amber",
                ),
                rx.vstack(
                    rx.text(tr("console.user.verification"), weight="bold", size="2"),
                    rx.button(
                        tr("console.user.verification_button"),
                        on_click=ConsoleUserState.resend_verification,
                        disabled=ConsoleUserState.user["verified"] == "1",
                        variant="soft",
                        id="resend-verification",
                    ),
                    spacing="2",
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="5",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def user_page() -> rx.Component:
    u = ConsoleUserState.user
    return console_shell(
        "console.user.title",
        rx.cond(
            ConsoleUserState.found,
            rx.vstack(
                rx.heading(u["email"], size="5", id="console-user-email"),
                rx.card(
                    rx.data_list.root(
                        _fact("console.user.balance", u["balance"], "console-balance"),
                        _fact("console.user.held", u["held"], "console-held"),
                        _fact("console.user.available", u["available"], "console-available"),
                        _fact("console.users.role", u["role"], "console-role"),
                        _fact("console.user.suspended", _flag(u["suspended"]), "console-suspended"),
                        _fact("console.user.verified", _flag(u["verified"]), "console-verified"),
                        _fact("console.user.two_factor", _flag(u["two_factor"]), "console-2fa"),
                        _fact("console.user.locale", u["locale"], "console-locale"),
                        _fact("console.users.created", u["created"], "console-created"),
                        _fact("console.user.requests_30d", u["requests_30d"], "console-requests"),
                        _fact("console.user.charged_30d", u["charged_30d"], "console-charged"),
                        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                    ),
                    width="100%",
                ),
                actions(),
                rx.heading(tr("console.user.ledger"), size="4"),
                console_table(
                    "ledger-table",
                    ConsoleUserState.ledger,
                    [
                        ("console.user.when", "when"),
                        ("console.user.kind", "kind"),
                        ("console.user.amount", "amount"),
                        ("console.user.after", "after"),
                        ("console.user.description", "description"),
                    ],
                    row_class="ledger-row",
                ),
                rx.heading(tr("console.user.holds"), size="4"),
                console_table(
                    "holds-table",
                    ConsoleUserState.holds,
                    [
                        ("console.user.request", "request"),
                        ("console.user.amount", "amount"),
                        ("console.user.lease", "lease"),
                    ],
                    row_class="hold-row",
                ),
                rx.heading(tr("console.user.proxy_keys"), size="4"),
                console_table(
                    "proxy-keys-table",
                    ConsoleUserState.proxy_keys,
                    [
                        ("console.user.key_name", "name"),
                        ("console.user.key_prefix", "prefix"),
                        ("console.users.created", "created"),
                        ("console.users.state", "state"),
                    ],
                    row_class="proxy-key-row",
                ),
                rx.heading(tr("console.user.provider_keys"), size="4"),
                console_table(
                    "provider-keys-table",
                    ConsoleUserState.provider_keys,
                    [
                        ("console.user.provider", "provider"),
                        ("console.user.key_label", "label"),
                        ("console.user.last4", "last4"),
                    ],
                    row_class="provider-key-row",
                ),
                rx.heading(tr("console.user.sessions"), size="4"),
                console_table(
                    "sessions-table",
                    ConsoleUserState.sessions,
                    [
                        ("console.users.created", "created"),
                        ("console.user.last_used", "last_used"),
                        ("console.user.agent", "agent"),
                    ],
                    row_class="session-row",
                ),
                rx.heading(tr("console.user.support"), size="4"),
                console_table(
                    "user-support-table",
                    ConsoleUserState.support,
                    [
                        ("console.user.when", "when"),
                        ("console.user.subject", "subject"),
                        ("console.users.state", "status"),
                    ],
                    row_class="user-support-row",
                ),
                spacing="4",
                width="100%",
            ),
            rx.text(tr("console.error.user_not_found"), id="console-user-missing"),
        ),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        users_page,
        route="/admin/users",
        title="aiusage · console · users",
        on_load=console_on_load(ConsoleUsersState.load_operator, ConsoleUsersState.load),
    )
    app.add_page(
        user_page,
        route="/admin/users/[user_id]",
        title="aiusage · console · user",
        on_load=console_on_load(ConsoleUserState.load_operator, ConsoleUserState.load),
    )
