"""The audit log (/admin/audit): every console and CLI change, newest first, 50 a page, with
filters. Read only: the page has no control that edits or deletes an entry."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr
from aiusage.pages.console.shell import console_on_load, console_shell
from aiusage.state.console_audit import FIELDS, ROUTE, ConsoleAuditState

A = ConsoleAuditState


def _field(name: str, label_key: str, kind: str = "text", **props) -> rx.Component:
    input_id, longest = FIELDS[name]
    return rx.vstack(
        rx.el.label(tr(label_key), html_for=input_id, font_size="var(--font-size-1)"),
        rx.input(name=name, id=input_id, type=kind, max_length=longest, width="100%", **props),
        spacing="1",
        min_width="150px",
        flex="1 1 150px",
    )


def filters() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.flex(
                _field("action", "console.audit.action", placeholder="credit."),
                _field("target_type", "console.audit.target_type", placeholder="user"),
                _field("target_id", "console.audit.target_id"),
                _field("actor", "console.audit.actor", placeholder="name@example.com"),
                _field("from", "console.audit.from", kind="date"),
                _field("to", "console.audit.to", kind="date"),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.text(tr("console.audit.filter_hint"), color_scheme="gray", size="1"),
            rx.hstack(
                rx.button(tr("console.audit.apply"), type="submit", id="audit-apply"),
                rx.button(
                    tr("console.audit.clear"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=A.clear_filters,
                    id="audit-clear",
                ),
                spacing="3",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=A.apply_filters,
        reset_on_submit=False,
        id="audit-filters",
        width="100%",
    )


def _labelled(label_key: str, value: rx.Component) -> rx.Component:
    return rx.flex(
        rx.text(tr(label_key), color_scheme="gray", size="2", min_width="5em"),
        value,
        spacing="2",
        align="baseline",
        min_width="0",
    )


def entry_card(e: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.code(e["action"], class_name="audit-action", size="2"),
                rx.text(e["when"], color_scheme="gray", size="2", class_name="audit-when"),
                spacing="3",
                wrap="wrap",
                align="center",
            ),
            _labelled(
                "console.audit.who",
                rx.text(e["actor"], size="2", class_name="audit-actor", overflow_wrap="anywhere"),
            ),
            _labelled(
                "console.audit.target",
                rx.cond(
                    e["target_link"] != "",
                    rx.link(e["target"], href=e["target_link"], size="2"),
                    rx.text(e["target"], size="2", overflow_wrap="anywhere"),
                ),
            ),
            rx.cond(
                e["reason"] != "",
                _labelled(
                    "console.audit.reason",
                    rx.text(e["reason"], size="2", overflow_wrap="anywhere"),
                ),
            ),
            _labelled(
                "console.audit.change",
                rx.text(
                    e["changes"],
                    size="2",
                    font_family="var(--code-font-family)",
                    white_space="pre-wrap",
                    overflow_wrap="anywhere",
                    class_name="audit-changes",
                ),
            ),
            spacing="1",
            width="100%",
        ),
        key=e["id"],
        class_name="audit-entry",
        width="100%",
    )


def paging() -> rx.Component:
    return rx.hstack(
        rx.cond(A.paged, rx.button(tr("console.audit.newest"), variant="soft", on_click=A.newest)),
        rx.cond(
            A.has_older,
            rx.button(
                tr("console.audit.older"), variant="soft", on_click=A.older, id="audit-older"
            ),
        ),
        spacing="3",
    )


def audit_page() -> rx.Component:
    return console_shell(
        "console.nav.audit",
        rx.text(tr("console.audit.intro"), color_scheme="gray", size="2"),
        filters(),
        rx.cond(
            A.rows.length() > 0,
            rx.vstack(rx.foreach(A.rows, entry_card), spacing="3", width="100%", id="audit-log"),
            rx.cond(
                A.loaded, rx.text(tr("console.audit.none"), color_scheme="gray", id="audit-empty")
            ),
        ),
        paging(),
    )


def add_pages(app: rx.App) -> None:
    app.add_page(
        audit_page,
        route=ROUTE,
        title="aiusage · audit log",
        on_load=console_on_load(ConsoleAuditState.load),
    )
