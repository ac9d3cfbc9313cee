""" "Connect your tools" (/dashboard/connect): base URLs and copy-paste snippets."""

from __future__ import annotations

import reflex as rx

from aiusage import routes
from aiusage.components.copy import copy_button
from aiusage.components.layout import dashboard_shell
from aiusage.components.text import tr
from aiusage.pages.registry import add_dashboard_page
from aiusage.state.dashboard_connect import ConnectState


def first_request() -> rx.Component:
    """Waiting for the account's first request, live; green once it has arrived."""
    return rx.match(
        ConnectState.first_status,
        (
            "waiting",
            rx.callout.root(
                rx.callout.icon(rx.spinner(size="2")),
                rx.callout.text(tr("connect.first.waiting")),
                color_scheme="blue",
                id="first-request-waiting",
                role="status",
            ),
        ),
        (
            "received",
            rx.callout.root(
                rx.callout.icon(rx.icon("circle-check")),
                rx.callout.text(
                    tr("connect.first.received"),
                    " ",
                    rx.code(ConnectState.first_model, id="first-request-model"),
                    ", ",
                    rx.text(ConnectState.first_time, as_="span", id="first-request-time"),
                ),
                color_scheme="green",
                id="first-request-received",
                role="status",
            ),
        ),
        (
            "stopped",
            rx.callout(
                tr("connect.first.stopped"),
                icon="clock",
                color_scheme="gray",
                id="first-request-stopped",
            ),
        ),
        rx.fragment(),
    )


def base_url(label_key: str, value: rx.Var, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="2", weight="medium"),
        rx.hstack(
            rx.code(value, id=element_id, size="3", word_break="break-all"),
            copy_button(element_id, f"{element_id}-copy"),
            align="center",
            wrap="wrap",
        ),
        spacing="1",
    )


def snippet(
    title_key: str, code: rx.Var, element_id: str, note_key: str | None = None
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(tr(title_key), size="3"),
                rx.spacer(),
                copy_button(element_id, f"{element_id}-copy"),
                width="100%",
                align="center",
            ),
            *([rx.text(tr(note_key), size="2", color_scheme="gray")] if note_key else []),
            rx.box(
                rx.el.pre(
                    code,
                    id=element_id,
                    style={
                        "margin": "0",
                        "font_family": "var(--code-font-family)",
                        "font_size": "13px",
                        "white_space": "pre",
                    },
                ),
                background=rx.color("gray", 3),
                border_radius="8px",
                padding="0.75em 1em",
                overflow_x="auto",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def connect_page() -> rx.Component:
    return dashboard_shell(
        "nav.connect",
        rx.text(tr("connect.intro"), color_scheme="gray"),
        first_request(),
        rx.card(
            rx.vstack(
                base_url("connect.anthropic_base", ConnectState.anthropic_base, "anthropic-base"),
                base_url("connect.openai_base", ConnectState.openai_base, "openai-base"),
                rx.vstack(
                    rx.text(tr("connect.key_choice"), size="2", weight="medium"),
                    rx.cond(
                        ConnectState.key_options.length() > 0,
                        rx.select.root(
                            rx.select.trigger(id="connect-key", min_width="220px"),
                            rx.select.content(
                                rx.foreach(
                                    ConnectState.key_options,
                                    lambda o: rx.select.item(o["label"], value=o["value"]),
                                )
                            ),
                            value=ConnectState.chosen,
                            on_change=ConnectState.choose,
                        ),
                        rx.hstack(
                            rx.text(tr("connect.no_key"), size="2", color_scheme="gray"),
                            rx.link(tr("overview.cta_key_button"), href=routes.KEYS),
                        ),
                    ),
                    rx.text(
                        tr("connect.placeholder_note"),
                        " ",
                        rx.code(ConnectState.placeholder, id="connect-key-prefix"),
                        size="1",
                        color_scheme="gray",
                    ),
                    spacing="1",
                ),
                spacing="4",
            ),
            width="100%",
        ),
        snippet("connect.key_export", ConnectState.key_export, "snippet-key", "connect.key_note"),
        snippet("connect.claude_code", ConnectState.claude_code, "snippet-claude-code"),
        snippet("connect.anthropic_python", ConnectState.anthropic_python, "snippet-anthropic-py"),
        snippet(
            "connect.anthropic_typescript",
            ConnectState.anthropic_typescript,
            "snippet-anthropic-ts",
        ),
        snippet("connect.openai_python", ConnectState.openai_python, "snippet-openai-py"),
        snippet("connect.codex", ConnectState.codex, "snippet-codex", "connect.codex_note"),
        snippet("connect.cursor", ConnectState.cursor, "snippet-cursor", "connect.cursor_note"),
        snippet(
            "connect.openai_claude",
            ConnectState.openai_claude,
            "snippet-openai-claude",
            "connect.openai_claude_note",
        ),
        snippet("connect.curl", ConnectState.curl, "snippet-curl"),
    )


def add_pages(app: rx.App) -> None:
    add_dashboard_page(app, connect_page, routes.CONNECT, "nav.connect", ConnectState.on_load)
