"""The page for an address that has none (Reflex's "404" route), in the page's language, with
a way home. In production the server answers such a path with this page and status 404."""

from __future__ import annotations

import reflex as rx

from aiusage.components.layout import public_shell
from aiusage.components.text import tr
from aiusage.i18n import t
from aiusage.pages.landing import page_meta
from aiusage.state.auth import SessionState

ROUTE = "404"  # reflex_base.constants.Page404.SLUG: the page for every unknown path


def not_found() -> rx.Component:
    return public_shell(
        rx.center(
            rx.vstack(
                rx.icon("map-pin-off", size=48, color=rx.color("accent", 9)),
                rx.text("404", size="2", weight="bold", color_scheme="gray"),
                rx.heading(tr("notfound.title"), size="8", as_="h1", id="not-found-title"),
                rx.text(tr("notfound.body"), size="4", color_scheme="gray", text_align="center"),
                rx.hstack(
                    rx.link(
                        rx.button(rx.icon("house", size=18), tr("notfound.home"), size="3"),
                        href="/",
                        id="not-found-home",
                    ),
                    rx.link(
                        rx.button(tr("notfound.pricing"), size="3", variant="soft"),
                        href="/pricing",
                    ),
                    wrap="wrap",
                    spacing="3",
                    justify="center",
                ),
                spacing="4",
                align="center",
                padding_y="4em",
                max_width="560px",
            ),
            width="100%",
        )
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        not_found,
        route=ROUTE,
        on_load=SessionState.load_public,
        **page_meta(f"{t('en', 'notfound.title')} · aiusage", t("en", "notfound.body")),
    )
