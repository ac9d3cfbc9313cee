"""The usage page: filters, charts from the SQL aggregates, and the paged request table.

The filters are kept as the same query parameters the CSV route reads, so the download is
exactly what the page shows; the page's own address carries them too (replaced in place on
every change), so a filtered view can be shared, bookmarked and reloaded. Every handler
resolves the signed-in user itself and every query is scoped by that user's id: a key id
sent by the browser that is not the user's simply matches nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

import plotly.graph_objects as go
import reflex as rx
from reflex_base.event import EventSpec

from aiusage import routes
from aiusage.db import session_scope
from aiusage.i18n.formatting import (
    format_date_range,
    format_number,
    format_percent_bps,
    format_tokens,
)
from aiusage.models.base import id_of
from aiusage.services import usage, usage_breakdown
from aiusage.state.dashboard import count, local_time, row_view, usd, usd_fine
from aiusage.state.figures import empty_figure, usage_figures
from aiusage.state.locale import page_lang, relocalize_on
from aiusage.state.page import LocalTimes
from aiusage.state.user import signed_in_user

ALL = "all"  # the "no filter" choice of a select (Radix selects need a non-empty value)


ADDRESS_PARAMS = ("range", "from", "to", "key", "provider", "model")


def _ms(value: int | None, lang: str) -> str:
    return "—" if value is None else f"{format_number(value, lang)} ms"


def group_view(group: usage_breakdown.GroupTotals, lang: str, key: bool = False) -> dict[str, str]:
    name = group.name or "—"
    if key and group.key_prefix:
        name = f"{name} ({group.key_prefix}…)"
    return {
        "name": name,
        "requests": count(group.requests, lang),
        "tokens": format_tokens(group.tokens, lang),
        "provider_cost": usd(group.cost_nano, lang),
        "fee": usd(group.fee_nano, lang),
        "charged": usd(group.charged_nano, lang),
        "error_rate": format_percent_bps(group.error_rate_bps, lang),
    }


def detail_view(d: usage_breakdown.RequestDetail, tz: int, lang: str) -> dict[str, str]:
    """The detail panel's lines, formatted; keys are catalog keys' last parts."""
    provider_key = (
        f"{d.provider_key_label or ''} ••••{d.provider_key_last4}".strip()
        if d.provider_key_last4
        else ""
    )
    tools = {
        "web_search": d.web_search_calls,
        "web_fetch": d.web_fetch_calls,
        "file_search": d.file_search_calls,
        "code_interpreter": d.code_interpreter_containers,
    }
    return {
        "request_id": d.request_id,
        "time": local_time(d.created_at, tz, lang),
        "key": f"{d.key_name} ({d.key_prefix}…)" if d.key_name else "—",
        "provider": d.provider,
        "endpoint": d.endpoint,
        "model": d.model,
        "paid_with": "own" if d.key_source == "byok" else "credit",
        "provider_key": provider_key or "—",
        "status": str(d.status),
        "error_type": d.error_type or "—",
        "streamed": "1" if d.streamed else "",
        "input": count(d.input_tokens, lang),
        "output": count(d.output_tokens, lang),
        "cache_write_5m": count(d.cache_write_5m_tokens, lang),
        "cache_write_1h": count(d.cache_write_1h_tokens, lang),
        "cache_read": count(d.cache_read_tokens, lang),
        "tools": ", ".join(f"{name} × {n}" for name, n in tools.items() if n) or "—",
        "provider_cost": usd_fine(d.cost_nano, lang),
        "fee": usd_fine(d.fee_nano, lang),
        "charged": usd_fine(d.charged_nano, lang),
        "priced_by_default": "1" if d.priced_by_default else "",
        "estimated": "1" if d.tokens_estimated else "",
        "latency": _ms(d.latency_ms, lang),
        "ttfb": _ms(d.ttfb_ms, lang),
        "user_agent": d.user_agent or "—",
    }


class UsageState(LocalTimes, rx.State):
    loading: bool = False
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
    total_cost: str = ""
    total_fee: str = ""

    # Totals per model and per proxy key over the same filters.
    by_model: list[dict[str, str]] = []
    by_key: list[dict[str, str]] = []

    # The request detail panel: one row's full metadata (never content).
    detail: dict[str, str] = {}
    detail_open: bool = False

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
        chosen = {"key": self.key_filter, "provider": self.provider_filter}
        chosen["model"] = self.model_filter
        params.update({name: value for name, value in chosen.items() if value and value != ALL})
        return params

    @rx.var
    def csv_url(self) -> str:
        return "/api/usage/export.csv?" + urlencode(self._params())

    def _address_event(self) -> EventSpec:
        """Puts the filters into the page's address without a navigation (no tz: the
        reader's own browser supplies it)."""
        query = urlencode({k: v for k, v in self._params().items() if k != "tz"})
        address = json.dumps(f"{routes.USAGE}?{query}")
        return rx.call_script(f"window.history.replaceState(window.history.state, '', {address})")

    def _take_address(self, params: Mapping[str, str]) -> None:
        """The filters from the address it was opened with; all of them or, when one is
        unusable (typed by hand, cut short), none."""
        wanted = {
            k: str(params.get(k, "")) for k in ("range", "from", "to", "key", "provider", "model")
        }
        try:
            usage.filter_from_params(0, wanted, strict=True)
        except usage.BadFilter:
            return
        self.range_preset = wanted["range"] or "30d"
        if self.range_preset == "custom" and wanted["from"] and wanted["to"]:
            self.custom_from, self.custom_to = wanted["from"], wanted["to"]
        elif self.range_preset == "custom":
            self.range_preset = "30d"
        self.key_filter = wanted["key"] or ALL
        self.provider_filter = wanted["provider"] or ALL
        self.model_filter = wanted["model"] or ALL

    @rx.event
    def on_load(self):
        self.loaded = False
        self.loading = True
        self.detail_open = False
        self.range_preset, self.custom_from, self.custom_to = "30d", "", ""
        self.key_filter = self.provider_filter = self.model_filter = ALL
        self._take_address(self.router.url.query_parameters)
        return self._ask_tz()

    async def _redraw(self, *, language: bool) -> EventSpec | None:
        """The browser's offset: the filters' first page, and the filters in the address;
        a language switch: the same filters and page, formatted anew."""
        await self._reload(keep_page=language)
        return None if language else self._address_event()

    @rx.event
    async def set_range(self, preset: str | list[str]):
        if isinstance(preset, list) or preset not in usage.RANGES:
            return
        self.range_preset = preset
        if preset == "custom" and not (self.custom_from and self.custom_to):
            rng = usage.resolve_range("7d", self.tz_offset)
            self.custom_from, self.custom_to = rng.first_day.isoformat(), rng.last_day.isoformat()
        await self._reload()
        return self._address_event()

    @rx.event
    async def set_custom_from(self, value: str):
        if usage.parse_day(value):
            self.custom_from = value[:10]
            await self._reload()
            return self._address_event()
        return None

    @rx.event
    async def set_custom_to(self, value: str):
        if usage.parse_day(value):
            self.custom_to = value[:10]
            await self._reload()
            return self._address_event()
        return None

    @rx.event
    async def set_key_filter(self, value: str):
        value = str(value)
        digits = value.isascii() and value.isdigit() and len(value) <= 18
        self.key_filter = value if value == ALL or digits else ALL
        await self._reload()
        return self._address_event()

    @rx.event
    async def set_provider_filter(self, value: str):
        self.provider_filter = str(value)[:16] or ALL
        await self._reload()
        return self._address_event()

    @rx.event
    async def set_model_filter(self, value: str):
        self.model_filter = str(value)[:100] or ALL
        await self._reload()
        return self._address_event()

    @rx.event
    async def clear_filters(self):
        self.key_filter = self.provider_filter = self.model_filter = ALL
        await self._reload()
        return self._address_event()

    @rx.event
    async def show_detail(self, usage_id: str):
        """Opens the panel for one of the user's requests (an id of anyone else's finds
        nothing: the query is scoped by the signed-in user)."""
        user = await signed_in_user(self)
        raw = str(usage_id)
        if user is None or not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            return
        async with session_scope() as db:
            found = await usage_breakdown.request_detail(db, id_of(user), int(raw))
        if found is None:
            return
        self.detail = detail_view(found, self.tz_offset, await page_lang(self))
        self.detail_open = True

    @rx.event
    def set_detail_open(self, is_open: bool):
        self.detail_open = bool(is_open)

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
        flt, _ = usage.filter_from_params(id_of(user), self._params())
        cursors: list[tuple[datetime, int] | None] = self._cursors if self._cursors else [None]
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
        flt, rng = usage.filter_from_params(id_of(user), self._params())
        labels = usage.bucket_labels(rng)
        lang = await page_lang(self)
        async with session_scope() as db:
            options = await usage.filter_options(db, id_of(user), flt.start)
            totals = await usage.totals(db, flt)
            by_model = await usage_breakdown.totals_by(db, flt, "model")
            by_key = await usage_breakdown.totals_by(db, flt, "key")
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
        self.total_cost = usd(totals.cost_nano, lang)
        self.total_fee = usd(totals.fee_nano, lang)
        self.by_model = [group_view(g, lang) for g in by_model]
        self.by_key = [group_view(g, lang, key=True) for g in by_key]

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


relocalize_on(routes.USAGE, UsageState.relocalize)
