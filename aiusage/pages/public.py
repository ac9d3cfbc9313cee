"""Landing, sign-up, log-in, forgot and reset password: forms post to /api/auth/*."""

from __future__ import annotations

import reflex as rx

from aiusage.components.forms import field, native_form
from aiusage.components.layout import public_shell
from aiusage.state.auth import SessionState


class ResetPasswordState(rx.State):
    @rx.var
    def token(self) -> str:
        return self.router.url.query_parameters.get("token", "")


def _form(action: str, *fields: rx.Component, submit: str, form_id: str) -> rx.Component:
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


def _card(title: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(rx.heading(title, size="6"), *children, spacing="4"),
            width="100%",
            max_width="420px",
            size="3",
        ),
        width="100%",
    )


def landing() -> rx.Component:
    return public_shell(
        rx.vstack(
            rx.heading("One gateway for your AI model APIs", size="9"),
            rx.text(
                "Point Claude Code, the Anthropic and OpenAI SDKs or curl at aiusage. "
                "We forward every request, meter its tokens and cost, charge it against your "
                "credit, and show you your spend over time — never the content.",
                size="5",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.link(rx.button("Create an account", size="4"), href="/signup"),
                rx.link(rx.button("Log in", size="4", variant="soft"), href="/login"),
            ),
            spacing="5",
            padding_y="3em",
        ),
    )


def login() -> rx.Component:
    return public_shell(
        _card(
            "Log in",
            _form(
                "/api/auth/login",
                field("Email", "email", "email", auto_complete="email", required=True),
                field(
                    "Password",
                    "password",
                    "password",
                    auto_complete="current-password",
                    required=True,
                ),
                submit="Log in",
                form_id="login-form",
            ),
            rx.hstack(
                rx.link("Forgot your password?", href="/forgot-password"),
                rx.spacer(),
                rx.link("Create an account", href="/signup"),
                width="100%",
                wrap="wrap",
            ),
        )
    )


def signup() -> rx.Component:
    return public_shell(
        _card(
            "Create your account",
            _form(
                "/api/auth/signup",
                field("Email", "email", "email", auto_complete="email", required=True),
                field(
                    "Password (at least 8 characters)",
                    "password",
                    "password",
                    auto_complete="new-password",
                    required=True,
                    min_length=8,
                ),
                submit="Sign up",
                form_id="signup-form",
            ),
            rx.link("Already have an account? Log in", href="/login"),
        )
    )


def forgot_password() -> rx.Component:
    return public_shell(
        _card(
            "Reset your password",
            rx.text("We will mail you a link to choose a new password.", color_scheme="gray"),
            _form(
                "/api/auth/forgot-password",
                field("Email", "email", "email", auto_complete="email", required=True),
                submit="Send the link",
                form_id="forgot-form",
            ),
        )
    )


def reset_password() -> rx.Component:
    return public_shell(
        _card(
            "Choose a new password",
            _form(
                "/api/auth/reset-password",
                rx.el.input(type="hidden", name="token", value=ResetPasswordState.token),
                field(
                    "New password",
                    "password",
                    "password",
                    auto_complete="new-password",
                    required=True,
                    min_length=8,
                ),
                submit="Save the new password",
                form_id="reset-form",
            ),
        )
    )


def add_pages(app: rx.App) -> None:
    load = SessionState.load_public
    app.add_page(landing, route="/", title="aiusage — AI API gateway", on_load=load)
    app.add_page(login, route="/login", title="Log in · aiusage", on_load=load)
    app.add_page(signup, route="/signup", title="Sign up · aiusage", on_load=load)
    app.add_page(
        forgot_password, route="/forgot-password", title="Reset password · aiusage", on_load=load
    )
    app.add_page(
        reset_password, route="/reset-password", title="New password · aiusage", on_load=load
    )
