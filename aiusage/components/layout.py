"""Page frames: the public shell and the dashboard shell with its navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import reflex as rx

from aiusage import routes
from aiusage.components.assistant import assistant_widget
from aiusage.components.billing_banner import low_balance_banner
from aiusage.components.footer import footer
from aiusage.components.forms import native_form
from aiusage.components.language import document_language, language_switcher
from aiusage.components.messages import message_callouts
from aiusage.components.text import tr
from aiusage.state.auth import SessionState
from aiusage.state.locale import LocaleState


class NavEntry(NamedTuple):
    key: str  # the catalog key of its label, also the title key of its page
    route: str
    icon: str


# The dashboard's navigation, in order. A page is marked current in it when its title key is
# the entry's key (dashboard_shell's first argument). Every icon is different.
DASHBOARD_NAV: tuple[NavEntry, ...] = (
    NavEntry("nav.overview", routes.OVERVIEW, "layout-dashboard"),
    NavEntry("nav.usage", routes.USAGE, "chart-column"),
    NavEntry("nav.keys", routes.KEYS, "key-round"),
    NavEntry("nav.connect", routes.CONNECT, "plug"),
    NavEntry("nav.billing", routes.BILLING, "wallet"),
    NavEntry("nav.sign_in_methods", routes.SIGN_IN_METHODS, "fingerprint"),
    NavEntry("nav.settings", routes.SETTINGS, "settings"),
    NavEntry("nav.support", routes.SUPPORT, "life-buoy"),
)


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


def _top_bar(*right: rx.Component, menu: rx.Component | None = None) -> rx.Component:
    return rx.hstack(
        *([menu] if menu is not None else []),
        brand(),
        rx.spacer(),
        language_switcher(),
        *right,
        padding=rx.breakpoints(initial="0.75em 1em", sm="1em 1.5em"),
        align="center",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        wrap="wrap",
        spacing="3",
    )


def language_gate(*children: rx.Component) -> rx.Component:
    """The page once its language is known. Before the first state arrives the page would
    render in English whatever the visitor chose; a blank, equally tall area is shown
    instead (only on a first load: the language stays known across client-side moves)."""
    return rx.cond(
        LocaleState.lang != "",
        rx.fragment(*children),
        rx.center(rx.spinner(size="3"), min_height="60vh", id="page-loading"),
    )


def public_shell(*children: rx.Component) -> rx.Component:
    return rx.box(
        document_language(),
        language_gate(
            _top_bar(
                rx.cond(
                    SessionState.signed_in,
                    rx.link(rx.button(tr("nav.dashboard")), href=routes.OVERVIEW),
                    rx.hstack(
                        rx.link(rx.button(tr("nav.login"), variant="soft"), href="/login"),
                        rx.link(rx.button(tr("nav.signup")), href="/signup"),
                    ),
                ),
            ),
            rx.container(rx.vstack(flash(), *children, spacing="5", padding_y="2em"), size="3"),
            footer(),
            assistant_widget(),
        ),
    )


def _nav_link(entry: NavEntry, current: bool) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(entry.icon, size=18), rx.text(tr(entry.key)), align="center"),
        href=entry.route,
        underline="none",
        padding="0.5em 0.75em",
        border_radius="8px",
        weight="bold" if current else "regular",
        color=rx.color("accent", 11) if current else rx.color("gray", 12),
        background=rx.color("accent", 4) if current else "transparent",
        _hover={"background": rx.color("accent", 3)},
        aria_current="page" if current else None,
        class_name="nav-link nav-current" if current else "nav-link",
        width="100%",
    )


@dataclass(frozen=True)
class Area:
    """A signed-in area with its own navigation: the dashboard, or the operator's console."""

    name: str  # the navigation's id and label ("dashboard", "console")
    nav: tuple[NavEntry, ...]


DASHBOARD = Area("dashboard", DASHBOARD_NAV)


def _nav(area: Area, title_key: str, *, in_drawer: bool = False) -> rx.Component:
    return rx.el.nav(
        rx.vstack(
            *[_nav_link(entry, entry.key == title_key) for entry in area.nav],
            spacing="1",
            width="100%",
        ),
        aria_label=area.name,
        id=f"{area.name}-nav-drawer" if in_drawer else f"{area.name}-nav",
        width="100%",
    )


def _menu_drawer(area: Area, title_key: str) -> rx.Component:
    """On a phone the navigation folds into a drawer, so the page's content comes first.
    Following a link closes it: the next page mounts its own shell."""
    return rx.box(
        rx.drawer.root(
            rx.drawer.trigger(
                rx.icon_button(
                    rx.icon("menu", size=20),
                    variant="ghost",
                    aria_label="menu",
                    id="nav-menu-button",
                )
            ),
            rx.drawer.overlay(z_index="50"),
            rx.drawer.portal(
                rx.drawer.content(
                    rx.vstack(
                        rx.hstack(
                            brand(),
                            rx.spacer(),
                            rx.drawer.close(
                                rx.icon_button(
                                    rx.icon("x", size=18), variant="ghost", aria_label="close"
                                )
                            ),
                            width="100%",
                            align="center",
                        ),
                        _nav(area, title_key, in_drawer=True),
                        spacing="4",
                        padding="1em",
                        width="100%",
                    ),
                    top="0",
                    left="0",
                    height="100%",
                    width="16em",
                    max_width="85vw",
                    background_color=rx.color("gray", 1),
                    z_index="51",
                )
            ),
            direction="left",
        ),
        display=rx.breakpoints(initial="block", md="none"),
    )


def signed_in_shell(
    area: Area, title_key: str, *children: rx.Component, banner: rx.Component | None = None
) -> rx.Component:
    """A signed-in page: top bar, the area's navigation (a side column from tablet width, a
    drawer on phones) with the page whose title key is `title_key` marked current, then the
    content."""
    return rx.box(
        document_language(),
        language_gate(
            _top_bar(
                rx.text(
                    SessionState.email,
                    id="user-email",
                    color_scheme="gray",
                    display=rx.breakpoints(initial="none", sm="block"),
                ),
                logout_button(),
                menu=_menu_drawer(area, title_key),
            ),
            rx.flex(
                rx.box(
                    _nav(area, title_key),
                    padding="1em",
                    min_width="210px",
                    display=rx.breakpoints(initial="none", md="block"),
                ),
                rx.vstack(
                    flash(),
                    *([banner] if banner is not None else []),
                    rx.heading(tr(title_key), size="7"),
                    *children,
                    spacing="4",
                    padding=rx.breakpoints(initial="1em", sm="1.5em"),
                    width="100%",
                    min_width="0",
                ),
                direction="row",
                width="100%",
            ),
            footer(),
            assistant_widget(),
        ),
    )


def dashboard_shell(
    title_key: str, *children: rx.Component, hide_low_balance: rx.Var[bool] | None = None
) -> rx.Component:
    """A dashboard page. `hide_low_balance`: while true the page shows its own credit
    message instead of the low-balance banner."""
    banner = low_balance_banner()
    if hide_low_balance is not None:
        banner = rx.cond(hide_low_balance, rx.fragment(), banner)
    return signed_in_shell(DASHBOARD, title_key, *children, banner=banner)
