"""Pieces the dashboard's forms and dialogs share: a labelled field, a row of fields, the
form's error or notice, a dialog holding a form with Cancel and its own buttons, and the
question asked before an action that cannot be undone."""

from __future__ import annotations

import reflex as rx
from reflex_base.event import EventSpec

from aiusage.components.messages import message_callout
from aiusage.components.text import tr


def form_message(var: rx.Var, color: str, element_id: str) -> rx.Component:
    """A form's error ("red") or notice, by its catalog key (nothing when empty)."""
    return message_callout(var, "error" if color == "red" else "notice", element_id)


def labelled(
    label_key: str, control: rx.Component, hint_key: str | None = None, flex: str = "1 1 160px"
) -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="1", weight="medium"),
        control,
        rx.text(tr(hint_key), size="1", color_scheme="gray") if hint_key else rx.fragment(),
        spacing="1",
        flex=flex,
    )


def row_of(*children: rx.Component) -> rx.Component:
    return rx.flex(*children, wrap="wrap", spacing="3", align="start", width="100%")


def confirm_dialog(
    trigger: rx.Component,
    *,
    title_key: str,
    description: list[rx.Component | rx.Var | str],
    confirm_key: str,
    on_confirm: EventSpec | rx.EventHandler,
    confirm_id: str,
    color_scheme: str | None = "red",
) -> rx.Component:
    """`trigger` (a button) asks first: a dialog saying what will happen, with Cancel and the
    button that does it (`confirm_id`, red unless `color_scheme` says otherwise)."""
    color = {"color_scheme": color_scheme} if color_scheme else {}
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr(title_key)),
            rx.alert_dialog.description(*description),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft")),
                rx.alert_dialog.action(
                    rx.button(tr(confirm_key), on_click=on_confirm, id=confirm_id, **color)
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )


def form_dialog(
    *,
    title: rx.Component,
    description: rx.Component,
    body: list[rx.Component],
    buttons: list[rx.Component],
    on_submit: rx.EventHandler,
    form_id: str,
    dialog_id: str,
    open: rx.Var[bool],
    on_open_change: rx.EventHandler,
    max_width: str = "560px",
) -> rx.Component:
    """A dialog with a form: its fields, then Cancel and `buttons` (the submit among them)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            description,
            rx.form(
                rx.vstack(
                    *body,
                    rx.flex(
                        rx.dialog.close(
                            rx.button(tr("common.cancel"), variant="soft", type="button")
                        ),
                        *buttons,
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=on_submit,
                id=form_id,
                width="100%",
            ),
            max_width=max_width,
            id=dialog_id,
        ),
        open=open,
        on_open_change=on_open_change,
    )
