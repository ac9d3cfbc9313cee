"""Error and notice callouts: a catalog key in a state var, shown while it is not empty, and
announced once as a toast when it appears (the callout stays beside the form it is about;
the toast is seen wherever the page is scrolled)."""

from __future__ import annotations

from typing import Literal

import reflex as rx
from reflex_base.utils.imports import ImportVar

from aiusage.components.effects import on_change
from aiusage.components.text import tr_var


def message_toast(key: rx.Var[str], text: rx.Var[str], level: str) -> rx.Component:
    """Shows `text` as a toast (sonner, Reflex's toaster) at `level` ("error", "success")
    each time `key` becomes non-empty or changes."""
    return on_change(
        key,
        f"const toast = refs['__toast']; if ({key} && toast) toast[{level!r}]({text});",
        text,
        imports={"$/utils/state": [ImportVar(tag="refs")]},
    )


def message_callout(
    key: rx.Var[str], kind: Literal["error", "notice"], element_id: str
) -> rx.Component:
    error = kind == "error"
    toast = message_toast(key, tr_var(key), "error" if error else "success")
    return rx.fragment(
        toast,
        rx.cond(
            key != "",
            rx.callout(
                tr_var(key),
                icon="triangle-alert" if error else "info",
                color_scheme="red" if error else "green",
                role="alert" if error else "status",
                id=element_id,
                width="100%",
            ),
        ),
    )


def message_callouts(error: rx.Var[str], notice: rx.Var[str], id_prefix: str) -> rx.Component:
    """The pair most pages show: `<prefix>-error` and `<prefix>-notice`."""
    return rx.fragment(
        message_callout(error, "error", f"{id_prefix}-error"),
        message_callout(notice, "notice", f"{id_prefix}-notice"),
    )
