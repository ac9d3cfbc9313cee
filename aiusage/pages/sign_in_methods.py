"""/dashboard/sign-in: the account's ways to sign in, each removable while another remains."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.layout import dashboard_shell
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr, tr_var
from aiusage.pages.registry import add_dashboard_page
from aiusage.state.sign_in_methods import SignInMethodsState


def _method_row(method: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(tr_var(method["kind_key"]), weight="bold"),
                rx.cond(
                    method["detail"] != "",
                    rx.text(method["detail"], color_scheme="gray", size="2"),
                    rx.text(tr_var(method["detail_key"]), color_scheme="gray", size="2"),
                ),
                rx.text(method["added"], color_scheme="gray", size="1"),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(
                tr("identity.methods.remove"),
                variant="soft",
                color_scheme="red",
                disabled=~SignInMethodsState.removable,
                on_click=SignInMethodsState.remove(method["id"]),
                class_name="remove-method",
            ),
            align="center",
            width="100%",
        ),
        width="100%",
        class_name="sign-in-method",
        custom_attrs={"data-method": method["id"]},
    )


def sign_in_methods() -> rx.Component:
    return dashboard_shell(
        "nav.sign_in_methods",
        rx.text(tr("identity.methods.intro"), color_scheme="gray"),
        message_callouts(SignInMethodsState.error, SignInMethodsState.notice, "methods"),
        rx.vstack(
            rx.foreach(SignInMethodsState.methods, _method_row),
            spacing="3",
            width="100%",
            max_width="640px",
            id="sign-in-methods",
        ),
        rx.cond(
            SignInMethodsState.methods.length() == 1,
            rx.text(tr("identity.methods.only_one"), color_scheme="gray", size="2"),
        ),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(
        app, sign_in_methods, routes.SIGN_IN_METHODS, "nav.sign_in_methods", SignInMethodsState.load
    )
