"""The usage page: filters, charts from the SQL aggregates, and the paged request table.

The filters are kept as the same query parameters the CSV route reads, so the download is
exactly what the page shows. Every handler resolves the signed-in user itself and every
query is scoped by that user's id: a key id sent by the browser that is not the user's
simply matches nothing."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import plotly.graph_objects as go
import reflex as rx

from aiusage.db import session_scope
from aiusage.i18n.formatting import format_date_range, format_number
from aiusage.services import usage
from aiusage.state.dashboard import TZ_SCRIPT, count, row_view, usd
from aiusage.state.figures import empty_figure, usage_figures
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.user import signed_in_user

ALL = "all"  # the "no filter" choice of a select (Radix selects need a non-empty value)


def _ms(value: int | None, lang: str) -> str:
    return "—" if value is None else f"{format_number(value, lang)} ms"


class UsageState(rx.State):
    tz_offset: int = 0
    loading: bool = False
    loaded: bool = False
    range_preset: str = "30d"
    custom_from: str = ""
    custom_to: str = ""
    key_filter: str = ALL
    provider_filter: str = ALL
    model_filter: str = ALL
    key_options: list[dict[str, str]] = []
    provider_options: list[str] = []
    model_options: list[str] = []
    range_label: str = ""
    bucket: str = "day"

    total_spend: str = ""
    total_requests: str = ""
    total_errors: str = ""
    total_input: str = ""
    total_output: str = ""
    total_cache: str = ""
    p50: str = ""
    p95: str = ""

    spend_fig: go.Figure = empty_figure()
    tokens_fig: go.Figure = empty_figure()
    requests_fig: go.Figure = empty_figure()
    latency_fig: go.Figure = empty_figure()

    rows: list[dict[str, str]] = []
    page_number: int = 1
    has_next: bool = False
    _cursors: list[tuple[datetime, int] | None] = [None]  # start of each page seen (server)

    def _params(self) -> dict[str, str]:
        params = {"range": self.range_preset, "tz": str(self.tz_offset)}
        if self.range_preset == "custom":
            params.update({"from": self.custom_from, "to": self.custom_to})
        for name, value in (
            ("key", self.key_filter),
            ("provider", self.provider_filter),
            ("model", self.model_filter),
        ):
            if value and value != ALL:
                params[name] = value
        return params

    @rx.var
    def csv_url(self) -> str:
        return "/api/usage/export.csv?" + urlencode(self._params())

    @rx.event
    def on_load(self):
        self.loaded = False
        self.loading = True
        return rx.call_script(TZ_SCRIPT, callback=UsageState.set_tz)

    @rx.event
    async def set_tz(self, offset: int | str):
        self.tz_offset = usage.clamp_offset(offset)
        await self._reload()

    @rx.event
    async def relocalize(self):
        """After a language switch: the same filters and page, formatted anew."""
        if self.loaded:
            await self._reload(keep_page=True)

    @rx.event
    async def set_range(self, preset: str | list[str]):
        if isinstance(preset, list) or preset not in usage.RANGES:
            return
        self.range_preset = preset
        if preset == "custom" and not (self.custom_from and self.custom_to):
            rng = usage.resolve_range("7d", self.tz_offset)
            self.custom_from, self.custom_to = rng.first_day.isoformat(), rng.last_day.isoformat()
        await self._reload()

    @rx.event
    async def set_custom_from(self, value: str):
        if usage.parse_day(value):
            self.custom_from = value[:10]
            await self._reload()

    @rx.event
    async def set_custom_to(self, value: str):
        if usage.parse_day(value):
            self.custom_to = value[:10]
            await self._reload()

    @rx.event
    async def set_key_filter(self, value: str):
        value = str(value)
        digits = value.isascii() and value.isdigit() and len(value) <= 18
        self.key_filter = value if value == ALL or digits else ALL
        await self._reload()

    @rx.event
    async def set_provider_filter(self, value: str):
        self.provider_filter = str(value)[:16] or ALL
        await self._reload()

    @rx.event
    async def set_model_filter(self, value: str):
        self.model_filter = str(value)[:100] or ALL
        await self._reload()

    @rx.event
    async def clear_filters(self):
        self.key_filter = self.provider_filter = self.model_filter = ALL
        await self._reload()

    @rx.event
    async def next_page(self):
        if self.has_next:
            await self._load_page(self.page_number + 1)

    @rx.event
    async def prev_page(self):
        if self.page_number > 1:
            await self._load_page(self.page_number - 1)

    async def _load_page(self, number: int) -> None:
        user = await signed_in_user(self)
        if user is None:
            self.rows, self.has_next = [], False
            return
        flt, _ = usage.filter_from_params(user.id, self._params())
        cursors = self._cursors if self._cursors else [None]
        number = max(1, min(number, len(cursors)))
        async with session_scope() as db:
            rows, following = await usage.page(db, flt, cursors[number - 1])
        self._cursors = [*cursors[:number], following] if following else cursors[:number]
        self.page_number = number
        self.has_next = following is not None
        self.rows = [row_view(r, self.tz_offset, await page_lang(self)) for r in rows]

    async def _reload(self, keep_page: bool = False) -> None:
        user = await signed_in_user(self)
        if user is None:
            self.loading = False
            return
        flt, rng = usage.filter_from_params(user.id, self._params())
        labels = usage.bucket_labels(rng, self.tz_offset)
        lang = await page_lang(self)
        async with session_scope() as db:
            options = await usage.filter_options(db, user.id, flt.start)
            totals = await usage.totals(db, flt)
            spend = await usage.spend_by_model(db, flt, rng.bucket)
            buckets = {b.label: b.totals for b in await usage.series(db, flt, rng.bucket)}
        self.bucket = rng.bucket
        self.range_label = format_date_range(rng.first_day, rng.last_day, lang)
        self.key_options = [
            {"value": str(key_id), "label": f"{name} ({prefix}…)"}
            for key_id, name, prefix in options.keys
        ]
        self.provider_options = options.providers
        self.model_options = options.models
        self.total_spend = usd(totals.charged_nano, lang)
        self.total_requests = count(totals.requests, lang)
        self.total_errors = count(totals.errors, lang)
        self.total_input = count(totals.input_tokens, lang)
        self.total_output = count(totals.output_tokens, lang)
        self.total_cache = count(totals.cache_write_tokens + totals.cache_read_tokens, lang)
        self.p50, self.p95 = _ms(totals.p50_ms, lang), _ms(totals.p95_ms, lang)

        zero = usage.Totals()
        per = [buckets.get(label, zero) for label in labels]
        self.spend_fig, self.tokens_fig, self.requests_fig, self.latency_fig = usage_figures(
            labels, per, spend, lang
        )
        if keep_page:
            await self._load_page(self.page_number)
        else:
            self._cursors = [None]
            await self._load_page(1)
        self.loading = False
        self.loaded = True


relocalize_on("/dashboard/usage", UsageState.relocalize)
