"""/dashboard/settings: email, password, language, low-balance alert, marketing emails,
sign out everywhere, download your data, delete the account."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.forms import field, native_form
from aiusage.components.language import language_switcher
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr, tr_var
from aiusage.pages import security
from aiusage.pages.registry import add_dashboard_page
from aiusage.state.security import SecurityState
from aiusage.state.settings import SettingsState


def _outcome(section: str) -> rx.Component:
    return rx.cond(
        (SettingsState.section == section) & (SettingsState.message != ""),
        rx.callout(
            tr_var(SettingsState.message),
            icon=rx.cond(SettingsState.failed, "triangle-alert", "info"),
            color_scheme=rx.cond(SettingsState.failed, "red", "green"),
            role=rx.cond(SettingsState.failed, "alert", "status"),
            id=f"settings-{section}-message",
            width="100%",
        ),
    )


def _card(title_key: str, hint_key: str | None, *children: rx.Component, card_id: str):
    return rx.card(
        rx.vstack(
            rx.heading(tr(title_key), size="4", as_="h2"),
            *([rx.text(tr(hint_key), size="2", color_scheme="gray")] if hint_key else []),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        max_width="640px",
        id=card_id,
    )


def _current_password(form_id: str) -> rx.Component:
    """The current password, re-asked before a change that could hand the account over or
    end it; not shown to accounts without one (Google-only)."""
    input_id = f"{form_id}-current-password"
    return rx.cond(
        SettingsState.has_password,
        rx.vstack(
            rx.el.label(
                tr("settings.password.current"),
                html_for=input_id,
                font_size="var(--font-size-2)",
                font_weight="500",
            ),
            rx.input(
                name="current_password",
                id=input_id,
                type="password",
                auto_complete="current-password",
                required=True,
                width="100%",
                size="3",
            ),
            spacing="1",
            width="100%",
        ),
    )


def email_card() -> rx.Component:
    return _card(
        "settings.email.title",
        "settings.email.hint",
        rx.hstack(
            rx.text(tr("settings.email.current"), color_scheme="gray"),
            rx.text(SettingsState.email, id="settings-current-email", weight="medium"),
            wrap="wrap",
        ),
        rx.form(
            rx.vstack(
                field(tr("settings.email.new"), "new_email", "email", required=True),
                _current_password("email"),
                rx.button(tr("settings.email.submit"), type="submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=SettingsState.request_email_change,
            reset_on_submit=True,
            id="email-form",
            width="100%",
        ),
        _outcome("email"),
        card_id="settings-email",
    )


def password_card() -> rx.Component:
    # A real form POST: the route rotates this browser's session cookie.
    return _card(
        "settings.password.title",
        "settings.password.hint",
        native_form(
            rx.vstack(
                field(
                    tr("settings.password.current"),
                    "current_password",
                    "password",
                    auto_complete="current-password",
                    required=True,
                ),
                field(
                    tr("settings.password.new"),
                    "new_password",
                    "password",
                    auto_complete="new-password",
                    required=True,
                    min_length=8,
                ),
                rx.button(tr("settings.password.submit"), type="submit"),
                spacing="3",
                width="100%",
            ),
            action="/api/auth/change-password",
            method="post",
            id="password-form",
            width="100%",
        ),
        card_id="settings-password",
    )


def language_card() -> rx.Component:
    return _card(
        "settings.language.title",
        "settings.language.hint",
        language_switcher(),
        card_id="settings-language",
    )


def alerts_card() -> rx.Component:
    return _card(
        "settings.alerts.title",
        "settings.alerts.hint",
        rx.form(
            rx.vstack(
                field(
                    tr("settings.alerts.label"),
                    "threshold",
                    "text",
                    default_value=SettingsState.threshold,
                    placeholder=SettingsState.default_threshold,
                    input_mode="decimal",
                    key=SettingsState.threshold,
                ),
                rx.button(tr("settings.alerts.submit"), type="submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=SettingsState.save_threshold,
            id="threshold-form",
            width="100%",
        ),
        _outcome("alerts"),
        card_id="settings-alerts",
    )


def marketing_card() -> rx.Component:
    return _card(
        "settings.marketing.title",
        "settings.marketing.hint",
        rx.el.label(
            rx.hstack(
                rx.switch(
                    checked=SettingsState.marketing,
                    on_change=SettingsState.set_marketing,
                    id="marketing-switch",
                ),
                rx.text(tr("settings.marketing.label")),
                align="center",
            ),
        ),
        _outcome("marketing"),
        card_id="settings-marketing",
    )


def export_card() -> rx.Component:
    # A full navigation to the route, which answers with the zip as an attachment: the
    # browser downloads it and stays on this page. (A link is taken by the client-side
    # router, which has no such page and showed a 404.)
    return _card(
        "settings.export.title",
        "settings.export.hint",
        rx.button(
            tr("settings.export.submit"),
            variant="soft",
            on_click=rx.call_script("window.location.assign('/api/account/export')"),
            id="export-link",
        ),
        card_id="settings-export",
    )


def delete_card() -> rx.Component:
    return _card(
        "settings.delete.title",
        "settings.delete.hint",
        native_form(
            rx.vstack(
                field(
                    tr("settings.delete.confirm"),
                    "confirm_email",
                    "email",
                    required=True,
                    auto_complete="off",
                ),
                _current_password("delete"),
                rx.button(tr("settings.delete.submit"), type="submit", color_scheme="red"),
                spacing="3",
                width="100%",
            ),
            action="/api/account/delete",
            method="post",
            id="delete-form",
            width="100%",
        ),
        card_id="settings-delete",
    )


def settings_page() -> rx.Component:
    return dashboard_shell(
        "nav.settings",
        email_card(),
        password_card(),
        language_card(),
        alerts_card(),
        marketing_card(),
        security.two_factor_card(),
        security.sessions_card(),  # with "sign out everywhere"
        export_card(),
        delete_card(),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(
        app, settings_page, routes.SETTINGS, "nav.settings", SettingsState.load, SecurityState.load
    )
