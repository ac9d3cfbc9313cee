"""Page frames: the public shell and the dashboard shell with its navigation."""

from __future__ import annotations

import reflex as rx

from aiusage.components.billing_banner import low_balance_banner
from aiusage.components.footer import footer
from aiusage.components.forms import native_form
from aiusage.components.language import language_switcher
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr
from aiusage.state.auth import SessionState

# Later pages plug into the dashboard by adding an entry here: (catalog key, route, icon).
DASHBOARD_NAV: list[tuple[str, str, str]] = [
    ("nav.overview", "/dashboard", "layout-dashboard"),
    ("nav.usage", "/dashboard/usage", "chart-column"),
    ("nav.keys", "/dashboard/keys", "key-round"),
    ("nav.connect", "/dashboard/connect", "plug"),
    ("nav.billing", "/dashboard/billing", "wallet"),
    ("nav.sign_in_methods", "/dashboard/sign-in", "key-round"),
    ("nav.settings", "/dashboard/settings", "settings"),
    ("nav.support", "/dashboard/support", "life-buoy"),
]


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("gauge", size=22), rx.heading("aiusage", size="5"), align="center"),
        href="/",
        underline="none",
        color=rx.color("gray", 12),
    )


def flash() -> rx.Component:
    return message_callouts(SessionState.flash_error, SessionState.flash_notice, "flash")


def logout_button() -> rx.Component:
    # A real form POST: the route clears the HttpOnly cookie and ends the session server-side.
    return native_form(
        rx.button(tr("nav.logout"), type="submit", variant="soft", id="logout-button"),
        action="/api/auth/logout",
        method="post",
    )


def _top_bar(*right: rx.Component) -> rx.Component:
    return rx.hstack(
        brand(),
        rx.spacer(),
        language_switcher(),
        *right,
        padding="1em 1.5em",
        align="center",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        wrap="wrap",
        spacing="3",
    )


def public_shell(*children: rx.Component) -> rx.Component:
    return rx.box(
        _top_bar(
            rx.cond(
                SessionState.signed_in,
                rx.link(rx.button(tr("nav.dashboard")), href="/dashboard"),
                rx.hstack(
                    rx.link(rx.button(tr("nav.login"), variant="soft"), href="/login"),
                    rx.link(rx.button(tr("nav.signup")), href="/signup"),
                ),
            ),
        ),
        rx.container(rx.vstack(flash(), *children, spacing="5", padding_y="2em"), size="3"),
        footer(),
    )


def _nav_link(key: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(tr(key)), align="center"),
        href=href,
        underline="none",
        padding="0.5em 0.75em",
        border_radius="8px",
        _hover={"background": rx.color("accent", 3)},
    )


def dashboard_shell(title_key: str, *children: rx.Component) -> rx.Component:
    return rx.box(
        _top_bar(
            rx.text(SessionState.email, id="user-email", color_scheme="gray"),
            logout_button(),
        ),
        rx.flex(
            rx.vstack(
                *[_nav_link(key, href, icon) for key, href, icon in DASHBOARD_NAV],
                padding="1em",
                min_width="200px",
                spacing="1",
            ),
            rx.vstack(
                flash(),
                low_balance_banner(),
                rx.heading(tr(title_key), size="7"),
                *children,
                spacing="4",
                padding="1.5em",
                width="100%",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            width="100%",
        ),
        footer(),
    )
