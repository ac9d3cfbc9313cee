"""A plain HTML form that really submits.

Reflex's form elements cancel the browser's submission when no `on_submit` is given; our
auth forms must POST natively so the route's Set-Cookie and redirect load a fresh page."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]


native_form = NativeForm.create


def field(label: str, name: str, kind: str = "text", **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, font_size="var(--font-size-2)", font_weight="500"),
        rx.input(name=name, id=name, type=kind, width="100%", size="3", **props),
        spacing="1",
        width="100%",
    )
