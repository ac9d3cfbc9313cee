"""Error and notice callouts: a catalog key in a state var, shown while it is not empty."""

from __future__ import annotations

from typing import Literal

import reflex as rx

from aiusage.components.text import tr_var


def message_callout(
    key: rx.Var[str], kind: Literal["error", "notice"], element_id: str
) -> rx.Component:
    error = kind == "error"
    return rx.cond(
        key != "",
        rx.callout(
            tr_var(key),
            icon="triangle-alert" if error else "info",
            color_scheme="red" if error else "green",
            role="alert" if error else "status",
            id=element_id,
            width="100%",
        ),
    )


def message_callouts(error: rx.Var[str], notice: rx.Var[str], id_prefix: str) -> rx.Component:
    """The pair most pages show: `<prefix>-error` and `<prefix>-notice`."""
    return rx.fragment(
        message_callout(error, "error", f"{id_prefix}-error"),
        message_callout(notice, "notice", f"{id_prefix}-notice"),
    )
