"""Error and notice callouts: a catalog key in a state var, shown while it is not empty, and
announced once as a toast when it appears (the callout stays beside the form it is about;
the toast is seen wherever the page is scrolled)."""

from __future__ import annotations

from typing import Literal

import reflex as rx
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import Var, VarData
from reflex_components_core.base.fragment import Fragment

from aiusage.components.text import tr_var


class MessageToast(Fragment):
    """Shows `text` as a toast (sonner, Reflex's toaster) each time `key` becomes non-empty
    or changes."""

    key: Var[str]
    text: Var[str]
    level: Var[str]

    def add_hooks(self) -> list[str | Var]:
        key, text, level = str(self.key), str(self.text), str(self.level)
        return [
            Var(
                f"useEffect(() => {{ const toast = refs['__toast']; if ({key} && toast) "
                f"toast[{level}]({text}); }}, [{key}])",
                _var_data=VarData.merge(
                    self.key._get_all_var_data(),
                    self.text._get_all_var_data(),
                    VarData(
                        imports={
                            "react": [ImportVar(tag="useEffect")],
                            "$/utils/state": [ImportVar(tag="refs")],
                        }
                    ),
                ),
            )
        ]


def message_callout(
    key: rx.Var[str], kind: Literal["error", "notice"], element_id: str
) -> rx.Component:
    error = kind == "error"
    toast = MessageToast.create(
        key=key, text=tr_var(key), level=rx.Var.create("error" if error else "success")
    )
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
