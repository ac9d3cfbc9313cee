"""A chart in a card: a plotly figure built on the server (state/figures.py) with its title.

The figure carries its own empty state (a note inside the chart, no axes), so every page
gets it; the chart is drawn with plotly's basic bundle, loaded after the page's numbers
(components/plotly_light.py), and its dates follow the page language."""

from __future__ import annotations

import reflex as rx

from aiusage.components.plotly_light import light_plot
from aiusage.components.text import tr
from aiusage.state.locale import LocaleState

CHART_HEIGHT = "280px"


def chart_card(
    title_key: str, figure: rx.Var, chart_id: str, empty: rx.Var[bool] | None = None
) -> rx.Component:
    """`empty` is accepted and ignored: the figure itself says when there is nothing to
    show (kept so existing calls compile; drop it from them)."""
    del empty
    return rx.card(
        rx.vstack(
            rx.heading(tr(title_key), size="3"),
            rx.box(
                light_plot(
                    figure=figure,
                    div_id=chart_id,
                    lang=LocaleState.current,
                    config={"displayModeBar": False, "responsive": True},
                    height=CHART_HEIGHT,
                ),
                width="100%",
                min_height=CHART_HEIGHT,
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )
