"""Landing, sign-up, log-in, forgot and reset password: forms post to /api/auth/*."""

from __future__ import annotations

import reflex as rx

from aiusage.components.forms import field, native_form
from aiusage.components.google_button import google_button
from aiusage.components.layout import public_shell
from aiusage.components.text import tr
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState


class ResetPasswordState(rx.State):
    @rx.var
    def token(self) -> str:
        return self.router.url.query_parameters.get("token", "")


def _form(action: str, *fields: rx.Component, submit: rx.Var[str], form_id: str) -> rx.Component:
    return native_form(
        rx.vstack(
            *fields,
            rx.button(submit, type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        action=action,
        method="post",
        id=form_id,
        width="100%",
    )


def _card(title: rx.Var[str], *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(rx.heading(title, size="6"), *children, spacing="4"),
            width="100%",
            max_width="420px",
            size="3",
        ),
        width="100%",
    )


def _email_field() -> rx.Component:
    """The address field, holding what a refused log-in was tried with (the `key` remounts
    it when that arrives with the page's state, as a default value is read only once)."""
    return field(
        tr("auth.email"),
        "email",
        "email",
        auto_complete="email",
        required=True,
        default_value=SessionState.typed_email,
        key=SessionState.typed_email,
    )


def login() -> rx.Component:
    return public_shell(
        _card(
            tr("auth.login.title"),
            _form(
                "/api/auth/login",
                # Where to go after signing in: checked again by the route.
                rx.el.input(type="hidden", name="next", value=SessionState.next_path),
                _email_field(),
                field(
                    tr("auth.password"),
                    "password",
                    "password",
                    auto_complete="current-password",
                    required=True,
                    # With the address kept, the password is what is left to type.
                    auto_focus=SessionState.typed_email != "",
                    key=SessionState.typed_email,
                ),
                submit=tr("auth.login.submit"),
                form_id="login-form",
            ),
            google_button(),
            rx.hstack(
                rx.link(tr("auth.login.forgot"), href="/forgot-password"),
                rx.spacer(),
                rx.link(tr("auth.login.to_signup"), href="/signup"),
                width="100%",
                wrap="wrap",
            ),
        )
    )


def signup() -> rx.Component:
    return public_shell(
        _card(
            tr("auth.signup.title"),
            _form(
                "/api/auth/signup",
                rx.el.input(type="hidden", name="lang", value=LocaleState.current),
                field(tr("auth.email"), "email", "email", auto_complete="email", required=True),
                field(
                    tr("auth.password_new"),
                    "password",
                    "password",
                    auto_complete="new-password",
                    required=True,
                    min_length=8,
                ),
                submit=tr("auth.signup.submit"),
                form_id="signup-form",
            ),
            google_button(),
            rx.link(tr("auth.signup.to_login"), href="/login"),
        )
    )


def forgot_password() -> rx.Component:
    return public_shell(
        _card(
            tr("auth.forgot.title"),
            rx.text(tr("auth.forgot.body"), color_scheme="gray"),
            _form(
                "/api/auth/forgot-password",
                _email_field(),
                submit=tr("auth.forgot.submit"),
                form_id="forgot-form",
            ),
        )
    )


def reset_password() -> rx.Component:
    return public_shell(
        _card(
            tr("auth.reset.title"),
            _form(
                "/api/auth/reset-password",
                rx.el.input(type="hidden", name="token", value=ResetPasswordState.token),
                field(
                    tr("auth.reset.password"),
                    "password",
                    "password",
                    auto_complete="new-password",
                    required=True,
                    min_length=8,
                ),
                submit=tr("auth.reset.submit"),
                form_id="reset-form",
            ),
        )
    )


def add_pages(app: rx.App) -> None:
    load = SessionState.load_public
    app.add_page(login, route="/login", title="aiusage", on_load=load)
    app.add_page(signup, route="/signup", title="aiusage", on_load=load)
    app.add_page(forgot_password, route="/forgot-password", title="aiusage", on_load=load)
    app.add_page(reset_password, route="/reset-password", title="aiusage", on_load=load)
