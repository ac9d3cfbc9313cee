"""One way to add a dashboard page: its route, its title (the catalog text of its navigation
entry, in English: the document title is fixed at build time), and its loads after the
session's. The navigation itself is components/layout.py's DASHBOARD_NAV."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from aiusage.i18n import t
from aiusage.state.auth import SessionState


def add_dashboard_page(
    app: rx.App,
    component: Callable[[], rx.Component],
    route: str,
    title_key: str,
    *loads: object,
) -> None:
    """Registers a signed-in page: signed-out visitors are sent to log in (and back)."""
    app.add_page(
        component,
        route=route,
        title=f"aiusage · {t('en', title_key)}",
        on_load=[SessionState.load_private, *loads],
    )
