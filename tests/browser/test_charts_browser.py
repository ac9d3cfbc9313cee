"""The dashboard's charts in chromium against the real server: drawn with plotly's basic
bundle (never the full 4.5 MB one), the spend hover saying what the money is, Chinese dates
and legends on a Chinese page, and a period without usage saying so inside the chart.

Usage is written straight into the database (rows and hourly rollups, as the proxy's writer
stores them), so the charts have known amounts over several days."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers.browser import (
    TIMEOUT_MS,
    hydrated,
    launch_chromium,
    log_in,
    new_page,
    screenshot,
)
from tests.helpers.support import ARTIFACTS

expect.set_options(timeout=TIMEOUT_MS)

CHARTS = ("spend-chart", "tokens-chart", "requests-chart", "latency-chart")
MAX_SCRIPT_BYTES = 1_500_000  # the full plotly.js is 4.5 MB; the basic bundle 1.1 MB
# Plotly writes negative numbers with a real minus sign.
NEGATIVE_TICK = re.compile(r"^[−-]\d")


@pytest.fixture(scope="module")
async def browser(app_server) -> Browser:
    async with launch_chromium() as launched:
        yield launched


async def write_usage(user_id: int, key_id: int, rows: list[tuple[datetime, str, int, int]]):
    """Usage rows (time, model, provider cost nano, charged nano) on the platform's key, so
    our fee is charged minus cost, plus their rollups."""
    from aiusage.db import session_scope
    from aiusage.models import UsageRecord
    from aiusage.proxy.rollups import add_rollups

    async with session_scope() as db:
        records = [
            UsageRecord(
                request_id=secrets.token_hex(12),
                created_at=at,
                user_id=user_id,
                proxy_key_id=key_id,
                provider="anthropic",
                endpoint="/v1/messages",
                model=model,
                key_source="platform",
                input_tokens=1200,
                output_tokens=300,
                cache_read_tokens=400,
                cost_nano=cost,
                charged_nano=charged,
                status=200,
                latency_ms=850,
            )
            for at, model, cost, charged in rows
        ]
        db.add_all(records)
        await db.flush()
        columns = [c.name for c in UsageRecord.__table__.columns]
        await add_rollups(db, [{c: getattr(r, c) for c in columns} for r in records])


async def account_with_usage(make_account):
    account = await make_account(usd="20")
    now = datetime.now(UTC)
    rows = [(now - timedelta(days=d), "claude-haiku-4-5", 10_000_000, 12_000_000) for d in (3, 9)]
    # Today: one bar of $1.05 = $1.00 provider cost + $0.05 our fee.
    rows.append((now - timedelta(minutes=5), "claude-sonnet-4-5", 1_000_000_000, 1_050_000_000))
    await write_usage(account.id, account.key_id, rows)
    return account


async def visit(page: Page, path: str) -> None:
    async with hydrated(page):
        await page.goto(path)


async def choose_language(page: Page, name: str) -> None:
    await page.locator("#language-switcher").click()
    await page.get_by_role("option", name=name).click()


def drawn_bars(chart_id: str) -> str:
    return f"#{chart_id} .barlayer .point path"


async def chart_texts(page: Page, chart_id: str, selector: str) -> list[str]:
    return await page.locator(f"#{chart_id} {selector}").all_text_contents()


async def expect_legend(page: Page, chart_id: str, names: set[str]) -> None:
    """The chart's legend names, in any order (plotly lists stacked bars top first)."""
    legend = page.locator(f"#{chart_id} .legendtext")
    await expect(legend.filter(has_text=sorted(names)[0]).first).to_be_attached()
    assert set(await legend.all_text_contents()) == names


async def scripts_loaded(page: Page) -> list[dict]:
    return await page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter((e) => new URL(e.name).pathname.endsWith(".js"))
            .map((e) => ({url: new URL(e.name).pathname, size: e.decodedBodySize}))"""
    )


async def test_usage_charts_draw_from_the_basic_bundle(browser, app_url, make_account):
    account = await account_with_usage(make_account)
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/usage")
        await expect(page.locator("#total-requests")).to_have_text("3")
        for chart in ("spend-chart", "tokens-chart", "requests-chart"):
            await expect(page.locator(drawn_bars(chart)).first).to_be_attached()
        await expect(page.locator("#latency-chart .scatterlayer .trace").first).to_be_attached()
        spend = await page.locator("#spend-chart").evaluate(
            "el => el.data.map((t) => [t.name, t.y.reduce((a, b) => a + b, 0)])"
        )
        assert dict(spend) == {
            "claude-haiku-4-5": pytest.approx(0.024),
            "claude-sonnet-4-5": pytest.approx(1.05),
        }
        scripts = await scripts_loaded(page)
        assert scripts, "no script was recorded"
        too_big = [s for s in scripts if s["size"] > MAX_SCRIPT_BYTES]
        assert not too_big, f"a script larger than the basic plotly bundle: {too_big}"
        # The chunk holding plotly is named after the bundle it came from.
        assert [s for s in scripts if "plotly-basic" in s["url"]], scripts
        await screenshot(page, "charts-usage")


async def test_spend_hover_shows_charged_provider_cost_and_fee(browser, app_url, make_account):
    account = await account_with_usage(make_account)
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        for path, chart in (("/dashboard/usage", "spend-chart"), ("/dashboard", "overview-chart")):
            await visit(page, path)
            bars = page.locator(drawn_bars(chart))
            await expect(bars.first).to_be_attached()
            # Today's bar is the tallest: $1.05 of sonnet.
            heights = [(await b.bounding_box() or {}).get("height", 0) for b in await bars.all()]
            tallest = bars.nth(heights.index(max(heights)))
            box = await tallest.bounding_box()
            assert box is not None
            await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            hover = page.locator(f"#{chart} .hoverlayer")
            await expect(hover).to_contain_text("claude-sonnet-4-5: charged $1.050000")
            await expect(hover).to_contain_text("provider cost $1.000000 · our fee $0.050000")
            # Only the chart: a full-page capture resizes the page and the hover goes away.
            await page.locator(f"#{chart}").screenshot(path=ARTIFACTS / f"charts-hover-{chart}.png")


async def test_a_chinese_page_has_chinese_dates_and_legends(browser, app_url, make_account):
    account = await account_with_usage(make_account)
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/usage")
        await expect(page.locator(drawn_bars("tokens-chart")).first).to_be_attached()
        await choose_language(page, "简体中文")
        await expect_legend(page, "tokens-chart", {"输入", "输出", "缓存写入", "缓存读取"})
        await expect_legend(page, "requests-chart", {"成功", "错误"})
        ticks = await chart_texts(page, "tokens-chart", ".xtick text")
        assert ticks and all(re.fullmatch(r"\d{1,2}月\d{1,2}日", t) for t in ticks), ticks
        # The zh-CN locale is registered and in use for the chart.
        locale = await page.locator("#tokens-chart").evaluate("el => el._context.locale")
        assert locale == "zh-CN"
        box = await page.locator(drawn_bars("spend-chart")).last.bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        hover = page.locator("#spend-chart .hoverlayer")
        await expect(hover).to_contain_text("年")
        await expect(hover).to_contain_text("计费金额 US$")
        await expect(hover).to_contain_text("我们的服务费 US$")
        await screenshot(page, "charts-usage-zh")

        await choose_language(page, "English")
        await expect_legend(page, "tokens-chart", {"input", "output", "cache write", "cache read"})
        ticks = await chart_texts(page, "tokens-chart", ".xtick text")
        assert not [t for t in ticks if "月" in t], ticks


async def test_an_empty_period_says_so_inside_the_chart(browser, app_url, make_account):
    account = await make_account(usd="5")
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard")
        note = page.locator("#overview-chart .annotation-text")
        await expect(note).to_have_text("No usage in this period")
        for chart in ("overview-chart",):
            assert await page.locator(f"#{chart} .ytick, #{chart} .xtick").count() == 0
        await visit(page, "/dashboard/usage")
        for chart in CHARTS:
            await expect(page.locator(f"#{chart} .annotation-text")).to_have_text(
                "No usage in this period"
            )
            ticks = await chart_texts(page, chart, ".ytick text, .xtick text")
            assert not [t for t in ticks if NEGATIVE_TICK.match(t) or "2000" in t], ticks
        await screenshot(page, "charts-usage-empty")
        await choose_language(page, "简体中文")
        await expect(page.locator("#spend-chart .annotation-text")).to_have_text("这段时间没有用量")


async def test_all_zero_values_get_no_negative_ticks(browser, app_url, make_account):
    """Requests that all failed: bars of zero tokens and zero spend, on axes from zero up."""
    from aiusage.db import session_scope
    from aiusage.models import UsageRecord
    from aiusage.proxy.rollups import add_rollups

    account = await make_account(usd="5")
    async with session_scope() as db:
        record = UsageRecord(
            request_id=secrets.token_hex(12),
            created_at=datetime.now(UTC) - timedelta(hours=1),
            user_id=account.id,
            proxy_key_id=account.key_id,
            provider="anthropic",
            endpoint="/v1/messages",
            model="claude-sonnet-4-5",
            key_source="platform",
            status=529,
            error_type="overloaded_error",
            latency_ms=120,
        )
        db.add(record)
        await db.flush()
        columns = [c.name for c in UsageRecord.__table__.columns]
        await add_rollups(db, [{c: getattr(record, c) for c in columns}])
    async with new_page(browser, app_url) as page:
        await log_in(page, account.email, account.password)
        await visit(page, "/dashboard/usage")
        await expect(page.locator(drawn_bars("requests-chart")).first).to_be_attached()
        for chart in ("spend-chart", "tokens-chart"):
            await expect(page.locator(f"#{chart} .ytick text").first).to_be_attached()
            ticks = await chart_texts(page, chart, ".ytick text")
            assert not [t for t in ticks if NEGATIVE_TICK.match(t)], (chart, ticks)
