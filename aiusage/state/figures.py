"""The dashboard's plotly figures, built on the server from the usage aggregates.

Display only: dollars become floats here and nowhere else. The pages show these through
`components/charts.py`, whose component loads plotly only once a figure has something to
draw (traces, or the empty-state note), so the state's placeholder (`empty_figure()` without
a language) costs the browser nothing.

Texts drawn in a chart follow the page language (`lang`): legend names and the empty note
from catalogs/charts.py, the spend hover's labels, and the date formats of the x axis and
of the hover (Chinese month/day forms; the component also registers plotly's zh-CN locale)."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go

from aiusage.i18n import DEFAULT, LANGUAGES, t
from aiusage.i18n.formatting import CURRENCY
from aiusage.services import usage

CHART_COLORS = ["#3e63dd", "#12a594", "#e54d2e", "#f76b15", "#8e4ec6", "#ffc53d", "#29a383"]
ERROR_COLOR = "#e5484d"
HEIGHT = 280
DAY_MS = 86_400_000

# Chinese date forms on the x axis, by the tick spacing plotly picks (ms, or months "M<n>").
ZH_TICK_FORMATS = [
    {"dtickrange": [None, DAY_MS], "value": "%H:%M"},
    {"dtickrange": [DAY_MS, "M1"], "value": "%-m月%-d日"},
    {"dtickrange": ["M1", "M12"], "value": "%Y年%-m月"},
    {"dtickrange": ["M12", None], "value": "%Y年"},
]
HOVER_DATE = {
    ("en", "day"): "%b %-d, %Y",
    ("en", "hour"): "%b %-d, %Y %H:%M",
    ("zh", "day"): "%Y年%-m月%-d日",
    ("zh", "hour"): "%Y年%-m月%-d日 %H:%M",
}


def usd_float(nano: int) -> float:
    """Chart values only (display): dollars as a float."""
    return nano / 1_000_000_000


def _lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def _date_axis(labels: list[str], lang: str) -> dict:
    # Bucket labels are "YYYY-MM-DD" (days) or "YYYY-MM-DD HH:00" (hours).
    bucket = "hour" if labels and len(labels[0]) > 10 else "day"
    axis: dict = {"type": "date", "hoverformat": HOVER_DATE[lang, bucket]}
    if lang == "zh":
        axis["tickformatstops"] = ZH_TICK_FORMATS
    return axis


def _layout(**extra) -> go.Layout:
    return go.Layout(
        margin={"l": 56, "r": 12, "t": 28, "b": 40},
        height=HEIGHT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        hovermode="x unified",
        **extra,
    )


def figure(traces: list, labels: list[str], lang: str = DEFAULT, **layout) -> go.Figure:
    """Traces over the bucket labels on a date axis. The y axis starts at zero and never
    goes below it: our values are never negative, and all-zero data (errors only, say)
    would otherwise get a -1…1 axis."""
    yaxis = {
        "rangemode": "tozero",
        "autorangeoptions": {"minallowed": 0},
        **layout.pop("yaxis", {}),
    }
    built = go.Figure(
        data=traces, layout=_layout(xaxis=_date_axis(labels, lang), yaxis=yaxis, **layout)
    )
    built.layout.template = None  # the component picks the light or dark template
    return built


def empty_figure(lang: str | None = None) -> go.Figure:
    """Nothing to plot: no axes (no "Jan 2000", no negative ticks). With a language, the
    figure says so in the middle of the chart; without one it is the state's placeholder
    before the first load, which the component does not draw at all."""
    built = go.Figure(
        layout=_layout(
            xaxis={"visible": False}, yaxis={"visible": False}, showlegend=False, dragmode=False
        )
    )
    if lang is not None:
        built.add_annotation(
            text=t(_lang(lang), "charts.empty"),
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 14, "color": "#8b8d98"},  # a grey readable in light and dark
        )
    built.layout.template = None
    return built


def _spend_hover(lang: str) -> str:
    """One hover line per model: what the balance was charged, the provider's price for the
    tokens and our part, from the trace's customdata (charged, cost, fee)."""
    money = CURRENCY[lang] + "%{{customdata[{i}]:,.6f}}"
    return (
        t(
            lang,
            "charts.spend_hover",
            model="%{fullData.name}",
            charged=money.format(i=0),
            cost=money.format(i=1),
            fee=money.format(i=2),
        )
        + "<extra></extra>"
    )


def spend_figure(labels: list[str], spend: list[usage.ModelSpend], lang: str = "en") -> go.Figure:
    """Spend per bucket, one stacked bar trace per model; the hover shows what each bar is
    made of (charged, provider cost, our fee)."""
    lang = _lang(lang)
    if not spend:
        return empty_figure(lang)
    per_model: dict[str, dict[str, usage.ModelSpend]] = defaultdict(dict)
    for item in spend:
        per_model[item.model][item.label] = item
    zero = usage.ModelSpend("", "", 0, 0)
    hover = _spend_hover(lang)
    traces = []
    for i, (model, values) in enumerate(sorted(per_model.items())):
        cells = [values.get(label, zero) for label in labels]
        traces.append(
            go.Bar(
                x=labels,
                y=[usd_float(c.charged_nano) for c in cells],
                customdata=[
                    [usd_float(c.charged_nano), usd_float(c.cost_nano), usd_float(c.fee_nano)]
                    for c in cells
                ],
                name=model,
                marker={"color": CHART_COLORS[i % len(CHART_COLORS)]},
                hovertemplate=hover,
            )
        )
    return figure(
        traces,
        labels,
        lang,
        barmode="stack",
        showlegend=True,
        yaxis={"tickprefix": CURRENCY[lang], "tickformat": ",.6~f"},
    )


def usage_figures(
    labels: list[str], per: list[usage.Totals], spend: list[usage.ModelSpend], lang: str = "en"
) -> tuple[go.Figure, go.Figure, go.Figure, go.Figure]:
    """The usage page's charts: spend per model, tokens by kind, requests (ok / errors) and
    latency percentiles, one value per bucket label. A period without requests gets the
    empty figure in each."""
    lang = _lang(lang)
    spend_fig = spend_figure(labels, spend, lang)
    if not any(bucket.requests for bucket in per):
        return spend_fig, empty_figure(lang), empty_figure(lang), empty_figure(lang)

    def bar(key: str, values: list[int], **extra) -> go.Bar:
        return go.Bar(x=labels, y=values, name=t(lang, key), **extra)

    tokens = figure(
        [
            bar("charts.input", [b.input_tokens for b in per]),
            bar("charts.output", [b.output_tokens for b in per]),
            bar("charts.cache_write", [b.cache_write_tokens for b in per]),
            bar("charts.cache_read", [b.cache_read_tokens for b in per]),
        ],
        labels,
        lang,
        barmode="stack",
    )
    requests = figure(
        [
            bar("charts.ok", [b.requests - b.errors for b in per]),
            bar("charts.errors", [b.errors for b in per], marker={"color": ERROR_COLOR}),
        ],
        labels,
        lang,
        barmode="stack",
    )
    latency = figure(
        [
            go.Scatter(x=labels, y=[b.p50_ms for b in per], name="p50", mode="lines+markers"),
            go.Scatter(x=labels, y=[b.p95_ms for b in per], name="p95", mode="lines+markers"),
        ],
        labels,
        lang,
        yaxis={"ticksuffix": " ms"},
    )
    return spend_fig, tokens, requests, latency
