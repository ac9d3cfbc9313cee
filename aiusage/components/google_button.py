""" "Continue with Google" on the log-in and sign-up cards.

Whether Google is configured is known when the pages are compiled (the app compiles them at
start-up from the same settings), so an unconfigured site renders nothing at all. The button
is a native GET form: the browser must load /api/auth/google/start for real (a link would be
routed inside the single-page app and end on its 404 page)."""

from __future__ import annotations

import reflex as rx

from aiusage.components.forms import native_form
from aiusage.components.text import tr
from aiusage.config import get_settings

START_PATH = "/api/auth/google/start"


def google_configured() -> bool:
    settings = get_settings()
    return bool(settings.google_client_id and settings.google_client_secret)


def google_button() -> rx.Component:
    if not google_configured():
        return rx.fragment()
    return rx.vstack(
        rx.hstack(
            rx.separator(size="4"),
            rx.text(tr("identity.or"), size="2", color_scheme="gray"),
            rx.separator(size="4"),
            align="center",
            width="100%",
        ),
        native_form(
            rx.button(
                rx.icon("log-in", size=18),
                tr("identity.google.continue"),
                type="submit",
                variant="outline",
                size="3",
                width="100%",
                id="google-sign-in",
            ),
            action=START_PATH,
            method="get",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
