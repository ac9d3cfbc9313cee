"""The support inbox (/admin/support): messages newest first, open, closed or all, each with
its sender, text, source and replies; a reply by email; close and reopen. Everything the
users (and operators) wrote is shown as text: React escapes it, nothing is read as HTML."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr, tr_var
from aiusage.pages.console.shell import console_on_load, console_shell
from aiusage.services import support_inbox
from aiusage.state.console_support import ROUTE, ConsoleSupportState

S = ConsoleSupportState
TEXT_BLOCK = {"white_space": "pre-wrap", "overflow_wrap": "anywhere", "size": "2"}


def status_filter() -> rx.Component:
    return rx.segmented_control.root(
        *[
            rx.segmented_control.item(tr(f"console.support.filter.{value}"), value=value)
            for value in support_inbox.FILTERS
        ],
        value=S.status_filter,
        on_change=S.set_status_filter,
        id="support-filter",
    )


def sender(m: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(tr("console.support.from"), color_scheme="gray", size="2"),
        rx.cond(
            m["user_link"] != "",
            rx.link(m["email"], href=m["user_link"], size="2", class_name="sender-link"),
            rx.text(m["email"], size="2"),
        ),
        rx.text("·", color_scheme="gray", size="2"),
        rx.text(tr("console.support.language"), color_scheme="gray", size="2"),
        rx.text(m["language"], size="2"),
        wrap="wrap",
        spacing="2",
        align="center",
    )


def reply_item(r: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.text(r["when"], color_scheme="gray", size="1"),
            rx.text(r["author"], size="1", weight="medium"),
            spacing="2",
            wrap="wrap",
        ),
        rx.text(r["body"], **TEXT_BLOCK),
        key=r["id"],
        class_name="support-reply",
        border_left="3px solid var(--accent-7)",
        padding_left="0.75em",
        width="100%",
    )


def reply_form(m: rx.Var) -> rx.Component:
    field_id = f"reply-{m['id']}"
    return rx.form(
        rx.vstack(
            rx.el.label(
                tr("console.support.reply_label"),
                html_for=field_id,
                font_weight="500",
                font_size="var(--font-size-2)",
            ),
            rx.el.input(type="hidden", name="message_id", value=m["id"]),
            rx.text_area(
                name="body",
                id=field_id,
                rows="4",
                max_length=support_inbox.REPLY_MAX,
                required=True,
                width="100%",
            ),
            rx.text(tr("console.support.reply_hint"), color_scheme="gray", size="1"),
            rx.button(tr("console.support.send"), type="submit", class_name="send-reply"),
            spacing="2",
            width="100%",
        ),
        on_submit=S.send_reply,
        reset_on_submit=False,  # cleared by the state once the reply is sent
        width="100%",
    )


def message_card(m: rx.Var) -> rx.Component:
    closed = m["status"] == support_inbox.CLOSED
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(m["subject"], size="4", as_="h2", overflow_wrap="anywhere"),
                rx.badge(
                    rx.cond(
                        closed,
                        tr("console.support.status.closed"),
                        tr("console.support.status.open"),
                    ),
                    color_scheme=rx.cond(closed, "gray", "green"),
                    class_name="message-status",
                ),
                rx.badge(tr_var(m["source_key"]), variant="outline"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.flex(
                rx.text(tr("console.support.received"), color_scheme="gray", size="2"),
                rx.text(m["when"], size="2"),
                rx.cond(
                    closed,
                    rx.flex(
                        rx.text("·", color_scheme="gray", size="2"),
                        rx.text(tr("console.support.closed_at"), color_scheme="gray", size="2"),
                        rx.text(m["closed_when"], size="2"),
                        spacing="2",
                    ),
                ),
                spacing="2",
                wrap="wrap",
            ),
            sender(m),
            rx.text(m["body"], class_name="message-body", **TEXT_BLOCK),
            rx.heading(tr("console.support.replies"), size="3", as_="h3"),
            rx.cond(
                S.replies[m["id"]].length() > 0,
                rx.vstack(
                    rx.foreach(S.replies[m["id"]], reply_item),
                    spacing="3",
                    width="100%",
                    class_name="support-replies",
                ),
                rx.text(tr("console.support.no_replies"), color_scheme="gray", size="2"),
            ),
            reply_form(m),
            rx.cond(
                closed,
                rx.button(
                    tr("console.support.reopen"),
                    variant="soft",
                    on_click=S.set_closed(m["id"], False),
                    class_name="reopen-message",
                ),
                rx.button(
                    tr("console.support.close"),
                    variant="soft",
                    color_scheme="gray",
                    on_click=S.set_closed(m["id"], True),
                    class_name="close-message",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        id=f"message-{m['id']}",
        # Keyed by message, not by place: a half-written reply stays with its message when
        # the list above it changes.
        key=m["id"],
        class_name="support-message",
        width="100%",
    )


def paging() -> rx.Component:
    return rx.hstack(
        rx.cond(
            S.paged,
            rx.button(tr("console.support.newest"), variant="soft", on_click=S.newest),
        ),
        rx.cond(
            S.has_older,
            rx.button(
                tr("console.support.older"), variant="soft", on_click=S.older, id="support-older"
            ),
        ),
        spacing="3",
    )


def support_page() -> rx.Component:
    return console_shell(
        "console.nav.support",
        status_filter(),
        rx.cond(
            S.rows.length() > 0,
            rx.vstack(
                rx.foreach(S.rows, message_card), spacing="4", width="100%", id="support-inbox"
            ),
            rx.cond(
                S.loaded,
                rx.text(tr("console.support.none"), color_scheme="gray", id="support-empty"),
            ),
        ),
        paging(),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        support_page,
        route=ROUTE,
        title="aiusage · support inbox",
        on_load=console_on_load(ConsoleSupportState.load),
    )
