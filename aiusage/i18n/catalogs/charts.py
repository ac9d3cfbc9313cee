"""Texts drawn inside the dashboard's charts (state/figures.py): legend names, the spend
hover and the empty state. Model names and p50/p95 stay as they are in both languages."""

EN = {
    "charts.empty": "No usage in this period",
    "charts.input": "input",
    "charts.output": "output",
    "charts.cache_write": "cache write",
    "charts.cache_read": "cache read",
    "charts.ok": "ok",
    "charts.errors": "errors",
    # Per model in the spend chart's hover (two lines, so the box fits a phone); {charged}
    # etc. become plotly placeholders.
    "charts.spend_hover": "{model}: charged {charged}<br>provider cost {cost} · our fee {fee}",
}

ZH = {
    "charts.empty": "这段时间没有用量",
    "charts.input": "输入",
    "charts.output": "输出",
    "charts.cache_write": "缓存写入",
    "charts.cache_read": "缓存读取",
    "charts.ok": "成功",
    "charts.errors": "错误",
    "charts.spend_hover": "{model}：计费金额 {charged}<br>服务商费用 {cost} · 我们的服务费 {fee}",
}
