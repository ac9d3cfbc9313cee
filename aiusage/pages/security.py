"""Security: the settings page's two-factor and sessions cards, and /login/two-factor, the
second step of a sign-in (a plain form posting the code to /api/auth/two-factor)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.forms import field, native_form
from aiusage.components.layout import public_shell
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr
from aiusage.state.auth import SessionState
from aiusage.state.security import SecurityState
from aiusage.web.second_step import CODE_PAGE


def _card(title_key: str, hint_key: str, *children: rx.Component, card_id: str):
    return rx.card(
        rx.vstack(
            rx.heading(tr(title_key), size="4", as_="h2"),
            rx.text(tr(hint_key), size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        max_width="640px",
        id=card_id,
    )


def _input(label: rx.Var[str], input_id: str, name: str, kind: str, **props) -> rx.Component:
    """A labelled input whose id (unique on the page) differs from its form field name."""
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_size="var(--font-size-2)", font_weight="500"),
        rx.input(name=name, id=input_id, type=kind, width="100%", size="3", **props),
        spacing="1",
        width="100%",
    )


def _password_again(form_id: str) -> rx.Component:
    """The password asked again; accounts without one (Google-only) are not asked."""
    return rx.cond(
        SecurityState.has_password,
        _input(
            tr("security.two_factor.password"),
            f"{form_id}-password",
            "password",
            "password",
            auto_complete="current-password",
            required=True,
        ),
    )


def _code_field(input_id: str, label_key: str = "security.two_factor.code") -> rx.Component:
    return _input(
        tr(label_key),
        input_id,
        "code",
        "text",
        auto_complete="one-time-code",
        required=True,
        max_length=32,
        spell_check=False,
    )


def _enrol_start() -> rx.Component:
    return rx.form(
        rx.vstack(
            _password_again("two-factor-start"),
            rx.button(tr("security.two_factor.set_up"), type="submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=SecurityState.start_enrolment,
        reset_on_submit=True,
        id="two-factor-start-form",
        width="100%",
    )


def _enrol_confirm() -> rx.Component:
    return rx.vstack(
        rx.text(tr("security.two_factor.scan")),
        rx.image(
            src=SecurityState.enrol_qr,
            alt=tr("security.two_factor.qr_alt"),
            width="220px",
            height="220px",
            id="two-factor-qr",
        ),
        rx.text(tr("security.two_factor.key_by_hand"), size="2", color_scheme="gray"),
        rx.code(SecurityState.enrol_secret, id="two-factor-secret", size="3"),
        rx.form(
            rx.vstack(
                _code_field("two-factor-confirm-code", "security.two_factor.confirm_code"),
                rx.hstack(
                    rx.button(tr("security.two_factor.turn_on"), type="submit"),
                    rx.button(
                        tr("security.two_factor.cancel"),
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=SecurityState.cancel_enrolment,
                        id="two-factor-cancel",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=SecurityState.confirm_enrolment,
            reset_on_submit=True,
            id="two-factor-confirm-form",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _disable() -> rx.Component:
    return rx.vstack(
        rx.text(SecurityState.two_factor_status, id="two-factor-status", weight="medium"),
        rx.form(
            rx.vstack(
                rx.text(tr("security.two_factor.off_hint"), size="2", color_scheme="gray"),
                _password_again("two-factor-off"),
                _code_field("two-factor-off-code"),
                rx.button(tr("security.two_factor.turn_off"), type="submit", color_scheme="red"),
                spacing="3",
                width="100%",
            ),
            on_submit=SecurityState.disable,
            reset_on_submit=True,
            id="two-factor-off-form",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _backup_codes() -> rx.Component:
    return rx.cond(
        SecurityState.new_backup_codes.length() > 0,
        rx.callout.root(
            rx.vstack(
                rx.text(tr("security.two_factor.backup_title"), weight="bold"),
                rx.text(tr("security.two_factor.backup_hint"), size="2"),
                rx.grid(
                    rx.foreach(
                        SecurityState.new_backup_codes,
                        lambda code: rx.code(code, class_name="backup-code"),
                    ),
                    columns="2",
                    spacing="2",
                    id="two-factor-backup-codes",
                ),
                rx.button(
                    tr("security.two_factor.backup_saved"),
                    on_click=SecurityState.backup_codes_saved,
                    variant="soft",
                    id="two-factor-backup-saved",
                ),
                spacing="3",
            ),
            color_scheme="amber",
            width="100%",
        ),
    )


def two_factor_card() -> rx.Component:
    return _card(
        "security.two_factor.title",
        "security.two_factor.hint",
        message_callouts(SecurityState.tf_error, SecurityState.tf_notice, "two-factor"),
        _backup_codes(),
        rx.cond(
            SecurityState.two_factor_on,
            _disable(),
            rx.cond(SecurityState.enrolling, _enrol_confirm(), _enrol_start()),
        ),
        card_id="settings-two-factor",
    )


def _session_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.hstack(
                    rx.text(row["device"], weight="bold", class_name="session-device"),
                    rx.cond(
                        row["current"] != "",
                        rx.badge(
                            tr("security.sessions.this_device"),
                            color_scheme="green",
                            class_name="session-current",
                        ),
                    ),
                    align="center",
                ),
                rx.text(row["last_used"], size="2", color_scheme="gray"),
                rx.text(row["created"], size="1", color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(
                rx.cond(
                    row["current"] != "",
                    tr("security.sessions.sign_out"),
                    tr("security.sessions.revoke"),
                ),
                variant="soft",
                color_scheme="red",
                on_click=SecurityState.revoke_session(row["id"]),
                class_name="revoke-session",
            ),
            align="center",
            width="100%",
        ),
        width="100%",
        class_name="session-row",
        custom_attrs={"data-session": row["id"]},
    )


def sessions_card() -> rx.Component:
    return _card(
        "security.sessions.title",
        "security.sessions.hint",
        message_callouts(SecurityState.sessions_error, SecurityState.sessions_notice, "sessions"),
        rx.vstack(
            rx.foreach(SecurityState.sessions, _session_row),
            spacing="2",
            width="100%",
            id="session-list",
        ),
        rx.text(tr("settings.sessions.hint"), size="2", color_scheme="gray"),
        native_form(
            rx.button(tr("settings.sessions.submit"), type="submit", variant="soft"),
            action="/api/account/sign-out-everywhere",
            method="post",
            id="sign-out-everywhere-form",
        ),
        card_id="settings-sessions",
    )


# --- /login/two-factor ---------------------------------------------------------------------


def two_factor_page() -> rx.Component:
    return public_shell(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.heading(tr("security.second_step.title"), size="6"),
                    rx.text(tr("security.second_step.body"), color_scheme="gray"),
                    native_form(
                        rx.vstack(
                            field(
                                tr("security.two_factor.code"),
                                "code",
                                "text",
                                auto_complete="one-time-code",
                                required=True,
                                max_length=32,
                                auto_focus=True,
                                spell_check=False,
                            ),
                            rx.button(
                                tr("security.second_step.submit"),
                                type="submit",
                                size="3",
                                width="100%",
                            ),
                            spacing="4",
                            width="100%",
                        ),
                        action="/api/auth/two-factor",
                        method="post",
                        id="two-factor-form",
                        width="100%",
                    ),
                    rx.text(tr("security.second_step.lost"), size="2", color_scheme="gray"),
                    rx.link(tr("security.second_step.back"), href="/login"),
                    spacing="4",
                ),
                width="100%",
                max_width="420px",
                size="3",
            ),
            width="100%",
        )
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        two_factor_page, route=CODE_PAGE, title="aiusage", on_load=SessionState.load_public
    )
