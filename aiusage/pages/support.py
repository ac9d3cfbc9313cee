"""/dashboard/support: write to the operator; the message is stored and mailed."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr, tr_var
from aiusage.pages.registry import add_dashboard_page
from aiusage.state.support import SupportState


def support_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label(tr("support.subject"), html_for="subject", font_weight="500"),
            rx.input(name="subject", id="subject", max_length=200, required=True, width="100%"),
            rx.el.label(tr("support.body"), html_for="body", font_weight="500"),
            rx.text_area(
                name="body", id="body", max_length=10_000, required=True, rows="8", width="100%"
            ),
            rx.button(tr("support.submit"), type="submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=SupportState.send,
        reset_on_submit=True,
        id="support-form",
        width="100%",
    )


def history() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("support.history"), size="4", as_="h2"),
        rx.cond(
            SupportState.messages.length() > 0,
            rx.vstack(
                rx.foreach(
                    SupportState.messages,
                    lambda m: rx.hstack(
                        rx.text(m["when"], color_scheme="gray", size="2", white_space="nowrap"),
                        rx.text(m["subject"], size="2"),
                        spacing="3",
                    ),
                ),
                id="support-history",
                spacing="2",
            ),
            rx.text(tr("support.none"), color_scheme="gray", size="2"),
        ),
        spacing="3",
        width="100%",
    )


def support_page() -> rx.Component:
    return dashboard_shell(
        "nav.support",
        rx.card(
            rx.vstack(
                rx.text(tr("support.intro"), color_scheme="gray"),
                support_form(),
                rx.cond(
                    SupportState.message != "",
                    rx.callout(
                        tr_var(SupportState.message),
                        icon=rx.cond(SupportState.failed, "triangle-alert", "info"),
                        color_scheme=rx.cond(SupportState.failed, "red", "green"),
                        id="support-message",
                        width="100%",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="640px",
        ),
        history(),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, support_page, routes.SUPPORT, "nav.support", SupportState.load)
