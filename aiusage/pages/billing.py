"""Billing (/dashboard/billing): balance, top-up with Stripe Checkout, history, low-balance
alert and auto top-up; the Checkout success and cancel pages."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.forms import native_form
from aiusage.components.layout import dashboard_shell
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr, tr_var
from aiusage.pages.registry import add_dashboard_page
from aiusage.state.billing import BillingState, CheckoutStatusState


def _message() -> rx.Component:
    return message_callouts(BillingState.error, BillingState.notice, "billing")


def balance_card() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(tr("billing.balance"), size="2", color_scheme="gray"),
                rx.heading(
                    BillingState.balance,
                    size="8",
                    id="billing-balance",
                    color=rx.cond(BillingState.negative, rx.color("red", 11), None),
                ),
            ),
            rx.spacer(),
            rx.vstack(
                rx.text(tr("billing.card"), size="2", color_scheme="gray"),
                rx.cond(
                    BillingState.card != "",
                    rx.text(BillingState.card, id="billing-card", font_family="monospace"),
                    rx.text(tr("billing.no_card"), color_scheme="gray"),
                ),
                align="end",
            ),
            width="100%",
            wrap="wrap",
        ),
        width="100%",
    )


def pricing_link() -> rx.Component:
    """What credit buys: the public price table."""
    return rx.link(
        rx.hstack(rx.icon("tag", size=14), tr("billing.pricing_link"), align="center", spacing="1"),
        href="/pricing",
        id="billing-pricing-link",
        size="2",
    )


def topup_card() -> rx.Component:
    form = native_form(
        rx.vstack(
            rx.hstack(
                rx.foreach(
                    BillingState.presets,
                    lambda p: rx.button(
                        p["label"],
                        type="submit",
                        name="amount",
                        value=p["value"],
                        size="3",
                        class_name="topup-preset",
                    ),
                ),
                wrap="wrap",
                spacing="3",
            ),
            rx.hstack(
                rx.vstack(
                    rx.el.label(
                        tr("billing.topup.custom"),
                        html_for="custom_amount",
                        font_size="var(--font-size-2)",
                    ),
                    rx.input(
                        name="custom_amount",
                        id="custom_amount",
                        input_mode="decimal",
                        placeholder="20.00",
                        size="3",
                    ),
                    spacing="1",
                ),
                rx.button(
                    tr("billing.topup.submit"), type="submit", size="3", id="topup-custom-submit"
                ),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            rx.text(
                tr("billing.topup.range"),
                " ",
                BillingState.min_usd,
                " ",
                tr("billing.topup.range_to"),
                " ",
                BillingState.max_usd,
                size="1",
                color_scheme="gray",
            ),
            spacing="3",
        ),
        action="/api/billing/checkout",
        method="post",
        id="topup-form",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(tr("billing.topup.title"), size="4"),
                rx.spacer(),
                pricing_link(),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(
                BillingState.configured,
                rx.vstack(rx.text(tr("billing.topup.body"), color_scheme="gray"), form),
                rx.callout(
                    tr("billing.topup.not_configured"), icon="info", id="topup-not-configured"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def dollar_field(label_key: str, name: str, field_id: str, value: rx.Var[str]) -> rx.Component:
    """A labelled amount in dollars, showing the saved value (`key` remounts the input when
    the value arrives, as a default value is read once)."""
    return rx.vstack(
        rx.text(tr(label_key), size="1", weight="medium"),
        rx.input(name=name, id=field_id, input_mode="decimal", default_value=value, key=value),
        spacing="1",
    )


def alert_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("billing.alert.title"), size="4"),
            rx.text(tr("billing.alert.body"), color_scheme="gray"),
            rx.form(
                rx.hstack(
                    dollar_field(
                        "billing.alert.threshold",
                        "threshold",
                        "alert-threshold",
                        BillingState.threshold,
                    ),
                    rx.button(tr("common.save"), type="submit", id="save-threshold"),
                    align="end",
                    spacing="3",
                ),
                on_submit=BillingState.save_threshold,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _auto_blocked() -> rx.Component:
    """Why the auto top-up form is disabled, and what to do about it."""
    return rx.match(
        BillingState.auto_blocked,
        (
            "not_configured",
            rx.callout(tr("billing.auto.not_configured"), icon="info", id="auto-not-configured"),
        ),
        (
            "no_card",
            rx.callout(tr("billing.auto.needs_card"), icon="credit-card", id="auto-needs-card"),
        ),
        rx.fragment(),
    )


def auto_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("billing.auto.title"), size="4"),
            rx.text(tr("billing.auto.body"), color_scheme="gray"),
            _auto_blocked(),
            rx.form(
                # A disabled fieldset disables every field and button in it, natively.
                rx.el.fieldset(
                    _auto_fields(),
                    disabled=BillingState.auto_blocked != "",
                    id="auto-fieldset",
                    style={"border": "none", "padding": "0", "margin": "0", "min_width": "0"},
                    opacity=rx.cond(BillingState.auto_blocked != "", "0.6", "1"),
                ),
                on_submit=BillingState.save_auto,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _auto_fields() -> rx.Component:
    return rx.vstack(
        rx.el.label(
            rx.hstack(
                rx.checkbox(
                    name="enabled",
                    id="auto-enabled",
                    default_checked=BillingState.auto_enabled,
                    key=BillingState.auto_enabled.to_string(),
                ),
                rx.text(tr("billing.auto.enabled")),
                align="center",
            ),
        ),
        rx.hstack(
            dollar_field("billing.auto.below", "below", "auto-below", BillingState.auto_below),
            dollar_field("billing.auto.amount", "amount", "auto-amount", BillingState.auto_amount),
            rx.button(tr("common.save"), type="submit", id="save-auto"),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        rx.text(
            tr("billing.auto.interval"),
            " ",
            BillingState.auto_interval,
            size="1",
            color_scheme="gray",
        ),
        spacing="3",
    )


def history_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("billing.history.title"), size="4"),
            rx.cond(
                BillingState.history.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(tr("billing.history.date")),
                            rx.table.column_header_cell(tr("billing.history.what")),
                            rx.table.column_header_cell(tr("billing.history.amount")),
                            rx.table.column_header_cell(tr("billing.history.balance_after")),
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            BillingState.history,
                            lambda row: rx.table.row(
                                rx.table.cell(row["date"]),
                                rx.table.cell(
                                    tr_var(row["kind"]),
                                    " ",
                                    rx.text(
                                        row["detail"], as_="span", color_scheme="gray", size="1"
                                    ),
                                ),
                                rx.table.cell(row["amount"], font_family="monospace"),
                                rx.table.cell(row["balance"], font_family="monospace"),
                                class_name="history-row",
                            ),
                        )
                    ),
                    width="100%",
                    id="billing-history",
                ),
                rx.text(tr("billing.history.empty"), color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def billing_page() -> rx.Component:
    return dashboard_shell(
        "nav.billing",
        _message(),
        balance_card(),
        topup_card(),
        history_card(),
        alert_card(),
        auto_card(),
    )


def success_page() -> rx.Component:
    status = CheckoutStatusState.status
    return dashboard_shell(
        "billing.success.title",
        rx.card(
            rx.vstack(
                rx.match(
                    status,
                    (
                        "credited",
                        rx.callout(
                            tr("billing.success.credited"),
                            icon="check",
                            color_scheme="green",
                            id="checkout-credited",
                        ),
                    ),
                    (
                        "unknown",
                        rx.callout(
                            tr("billing.success.unknown"),
                            icon="triangle-alert",
                            color_scheme="red",
                            id="checkout-unknown",
                        ),
                    ),
                    rx.callout(tr("billing.success.pending"), icon="loader", id="checkout-pending"),
                ),
                rx.link(tr("billing.back"), href=routes.BILLING),
                spacing="3",
            ),
            width="100%",
        ),
    )


def cancel_page() -> rx.Component:
    return dashboard_shell(
        "billing.cancel.title",
        rx.card(
            rx.vstack(
                rx.text(tr("billing.cancel.body"), id="checkout-cancelled"),
                rx.link(tr("billing.back"), href=routes.BILLING),
                spacing="3",
            ),
            width="100%",
        ),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, billing_page, routes.BILLING, "nav.billing", BillingState.load)
    add_dashboard_page(
        app, success_page, routes.BILLING_SUCCESS, "nav.billing", CheckoutStatusState.watch
    )
    add_dashboard_page(app, cancel_page, routes.BILLING_CANCEL, "nav.billing")
