"""The dashboard's plotly figures, built on the server from the usage aggregates.

Display only: dollars become floats here and nowhere else. The pages show these through
`components/charts.py`."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from aiusage.i18n.formatting import CURRENCY
from aiusage.services import usage

CHART_COLORS = ["#3e63dd", "#12a594", "#e54d2e", "#f76b15", "#8e4ec6", "#ffc53d", "#29a383"]


def usd_float(nano: int) -> float:
    """Chart values only (display): dollars as a float."""
    return nano / 1_000_000_000


def _layout(**extra) -> go.Layout:
    layout = go.Layout(
        margin={"l": 56, "r": 12, "t": 28, "b": 40},
        height=280,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        xaxis={"type": "date"},
        hovermode="x unified",
        **extra,
    )
    return layout


def figure(traces: list, **layout) -> go.Figure:
    built = go.Figure(data=traces, layout=_layout(**layout))
    built.layout.template = None  # the component picks the light or dark template
    return built


def spend_figure(labels: list[str], spend: list[usage.ModelSpend], lang: str = "en") -> go.Figure:
    """Spend per bucket, one stacked bar trace per model."""
    per_model: dict[str, dict[str, int]] = defaultdict(dict)
    for item in spend:
        per_model[item.model][item.label] = item.charged_nano
    traces = [
        go.Bar(
            x=labels,
            y=[usd_float(values.get(label, 0)) for label in labels],
            name=model,
            marker={"color": CHART_COLORS[i % len(CHART_COLORS)]},
            hovertemplate=CURRENCY[lang if lang in CURRENCY else "en"] + "%{y:.6f}",
        )
        for i, (model, values) in enumerate(sorted(per_model.items()))
    ]
    return figure(
        traces,
        barmode="stack",
        showlegend=True,
        yaxis={
            "tickprefix": CURRENCY[lang if lang in CURRENCY else "en"],
            "tickformat": ",.6~f",
            "rangemode": "tozero",
        },
    )


def empty_figure() -> go.Figure:
    return figure([])


def usage_figures(
    labels: list[str], per: list[usage.Totals], spend: list[usage.ModelSpend], lang: str = "en"
) -> tuple[go.Figure, go.Figure, go.Figure, go.Figure]:
    """The usage page's charts: spend per model, tokens by kind, requests (ok / errors) and
    latency percentiles, one value per bucket label."""
    tokens = figure(
        [
            go.Bar(x=labels, y=[t.input_tokens for t in per], name="input"),
            go.Bar(x=labels, y=[t.output_tokens for t in per], name="output"),
            go.Bar(x=labels, y=[t.cache_write_tokens for t in per], name="cache write"),
            go.Bar(x=labels, y=[t.cache_read_tokens for t in per], name="cache read"),
        ],
        barmode="stack",
    )
    requests = figure(
        [
            go.Bar(x=labels, y=[t.requests - t.errors for t in per], name="ok"),
            go.Bar(
                x=labels,
                y=[t.errors for t in per],
                name="errors",
                marker={"color": "#e5484d"},
            ),
        ],
        barmode="stack",
    )
    latency = figure(
        [
            go.Scatter(x=labels, y=[t.p50_ms for t in per], name="p50", mode="lines+markers"),
            go.Scatter(x=labels, y=[t.p95_ms for t in per], name="p95", mode="lines+markers"),
        ],
        yaxis={"ticksuffix": " ms", "rangemode": "tozero"},
    )
    return spend_figure(labels, spend, lang), tokens, requests, latency
