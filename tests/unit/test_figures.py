"""The dashboard's figures (aiusage/state/figures.py) as the browser receives them: what the
spend hover is made of, the empty state, the language of legends and dates, and the chart
component's bundle."""

from __future__ import annotations

from aiusage.services.usage import ModelSpend, Totals
from aiusage.state import figures

DAYS = ["2026-11-29", "2026-11-30", "2026-12-01"]
HOURS = ["2026-12-01 00:00", "2026-12-01 01:00"]


def as_json(fig) -> dict:
    return fig.to_plotly_json()


def test_spend_hover_carries_charged_cost_and_fee_per_model_and_day():
    spend = [
        ModelSpend("2026-11-30", "claude-sonnet-4-5", 1_050_000_000, 3, 1_000_000_000, 50_000_000),
        ModelSpend("2026-12-01", "claude-sonnet-4-5", 21_000_000, 1, 20_000_000, 1_000_000),
        ModelSpend("2026-12-01", "gpt-5", 7_000, 1, 0, 7_000),
    ]
    fig = as_json(figures.spend_figure(DAYS, spend, "en"))
    sonnet, gpt = fig["data"]
    assert (sonnet["name"], gpt["name"]) == ("claude-sonnet-4-5", "gpt-5")
    assert list(sonnet["y"]) == [0.0, 1.05, 0.021]
    assert [list(row) for row in sonnet["customdata"]] == [
        [0.0, 0.0, 0.0],
        [1.05, 1.0, 0.05],
        [0.021, 0.02, 0.001],
    ]
    assert list(gpt["customdata"][2]) == [7e-06, 0.0, 7e-06]
    hover = sonnet["hovertemplate"]
    assert "charged $%{customdata[0]:,.6f}" in hover
    assert "provider cost $%{customdata[1]:,.6f}" in hover
    assert "our fee $%{customdata[2]:,.6f}" in hover
    assert hover.startswith("%{fullData.name}") and hover.endswith("<extra></extra>")
    assert fig["layout"]["yaxis"]["tickprefix"] == "$"

    zh = as_json(figures.spend_figure(DAYS, spend, "zh"))["data"][0]["hovertemplate"]
    assert "计费金额 US$%{customdata[0]:,.6f}" in zh
    assert "服务商费用 US$%{customdata[1]:,.6f}" in zh
    assert "我们的服务费 US$%{customdata[2]:,.6f}" in zh


def test_a_period_without_usage_says_so_inside_the_chart_without_axes():
    for lang, note in (("en", "No usage in this period"), ("zh", "这段时间没有用量")):
        quiet = [Totals() for _ in DAYS]
        for fig in (
            figures.spend_figure(DAYS, [], lang),
            *figures.usage_figures(DAYS, quiet, [], lang),
        ):
            layout = as_json(fig)["layout"]
            assert as_json(fig)["data"] == []
            assert [a["text"] for a in layout["annotations"]] == [note]
            assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False


def test_the_placeholder_before_the_first_load_draws_nothing():
    layout = as_json(figures.empty_figure())["layout"]
    assert "annotations" not in layout
    assert layout["xaxis"]["visible"] is False


def test_all_zero_values_keep_the_axis_at_zero_or_above():
    per = [Totals(requests=1, errors=1), Totals(), Totals()]
    spend = [ModelSpend("2026-11-29", "claude-haiku-4-5", 0, 1)]
    for fig in figures.usage_figures(DAYS, per, spend, "en"):
        yaxis = as_json(fig)["layout"]["yaxis"]
        assert yaxis["rangemode"] == "tozero" and yaxis["autorangeoptions"]["minallowed"] == 0


def test_legends_and_dates_follow_the_language():
    per = [Totals(requests=2, errors=1, input_tokens=10, output_tokens=5) for _ in DAYS]
    _, tokens, requests, latency = figures.usage_figures(DAYS, per, [], "zh")
    assert [t["name"] for t in as_json(tokens)["data"]] == ["输入", "输出", "缓存写入", "缓存读取"]
    assert [t["name"] for t in as_json(requests)["data"]] == ["成功", "错误"]
    assert [t["name"] for t in as_json(latency)["data"]] == ["p50", "p95"]
    axis = as_json(tokens)["layout"]["xaxis"]
    assert axis["hoverformat"] == "%Y年%-m月%-d日"
    assert "%-m月%-d日" in [stop["value"] for stop in axis["tickformatstops"]]

    _, tokens_en, requests_en, _ = figures.usage_figures(DAYS, per, [], "en")
    assert [t["name"] for t in as_json(tokens_en)["data"]] == [
        "input",
        "output",
        "cache write",
        "cache read",
    ]
    assert [t["name"] for t in as_json(requests_en)["data"]] == ["ok", "errors"]
    axis_en = as_json(tokens_en)["layout"]["xaxis"]
    assert axis_en["hoverformat"] == "%b %-d, %Y" and "tickformatstops" not in axis_en

    hourly = as_json(figures.usage_figures(HOURS, per[:2], [], "zh")[1])["layout"]["xaxis"]
    assert hourly["hoverformat"] == "%Y年%-m月%-d日 %H:%M"
    # An unknown language falls back to English rather than failing.
    assert as_json(figures.spend_figure(DAYS, [], "fr"))["layout"]["annotations"][0]["text"] == (
        "No usage in this period"
    )


def test_the_chart_component_uses_the_basic_bundle_and_the_zh_locale():
    from aiusage.components.plotly_light import LightPlot, themes

    deps = LightPlot.lib_dependencies
    assert any(d.startswith("plotly.js-basic-dist-min@") for d in deps)
    assert not any(d.startswith("plotly.js@") for d in deps)  # never the full bundle
    code = "".join(LightPlot.create(figure=figures.empty_figure()).add_custom_code())
    assert 'import("plotly.js-basic-dist-min")' in code
    assert 'import("plotly.js-locales/zh-cn.js")' in code
    for theme in themes().values():
        assert set(theme["data"]) == {"bar", "scatter"}  # nothing for trace types we never draw
