"""A chart in a card: a plotly figure built on the server (state/figures.py) with its title
and, while there is nothing to plot, a note saying so."""

from __future__ import annotations

import reflex as rx

from aiusage.components.text import tr


def chart_card(title_key: str, figure: rx.Var, chart_id: str, empty: rx.Var[bool] | None = None):
    body = rx.plotly(
        data=figure,
        id=chart_id,
        config={"displayModeBar": False, "responsive": True},
        use_resize_handler=True,
        width="100%",
        height="280px",
    )
    return rx.card(
        rx.vstack(
            rx.heading(tr(title_key), size="3"),
            rx.box(body, width="100%", min_height="280px"),
            *(
                [rx.cond(empty, rx.text(tr("usage.empty_chart"), size="2", color_scheme="gray"))]
                if empty is not None
                else []
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )
