"""Proposed prices from a maintained list: pydantic's `genai-prices` package.

The package ships a snapshot of the providers' list prices (its `data.py`, updated with each
release); only that bundled snapshot is read here — never its `UpdatePrices`, which would fetch
a newer one from GitHub — so a check needs no network and answers the same until the package
is upgraded. For Anthropic and OpenAI it proposes, converted to our fields (USD per million
tokens, exact to the micro-dollar): the models our table lacks, and ours whose list prices
differ. Nothing is written until an operator accepts a proposal (console or
`aiusage prices sync --accept`); each acceptance is an audited price change whose source
names the package, its version and the provider's pricing page.

What the package says and our table cannot hold is left out rather than approximated: a
model priced for audio, images, characters or per request, or with more than one long-prompt
tier. What it does not say (a model's maximum output, a web fetch fee) keeps our value."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.services import price_admin, pricing
from aiusage.services.errors import ServiceError
from aiusage.services.price_admin import Change
from aiusage.services.roles import Operator

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, Provider

PACKAGE = "genai-prices"
PROVIDERS = price_admin.PROVIDERS
# The package's price keys we bill: tokens and web searches. File searches
# (storage_searches_kcount) are billed at the configured fee for every OpenAI model.
_TOKEN_KEYS = {
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_5m_mtok",
    "cache_write_1h_mtok",
}
_KNOWN_KEYS = _TOKEN_KEYS | {"web_searches_kcount", "storage_searches_kcount"}
# What the package's list decides; the rest of a row (maximum output, web fetch fee) is ours.
LISTED_FIELDS = (
    *price_admin.RATES,
    "long_threshold",
    *price_admin.LONG_RATES,
    "web_search",
)


@dataclass(frozen=True)
class ListPrice:
    """One model's list price, as our fields' text."""

    provider: str
    listed_as: str  # the package's model id
    fields: dict[str, str]  # LISTED_FIELDS; web_search '' when the list has no fee
    source: str


@dataclass(frozen=True)
class Proposal:
    provider: str
    model: str  # the name our table would list it under
    listed_as: str
    kind: str  # "new" | "changed"
    values: dict[str, str]  # the whole row as it would be (price_admin.values_of's fields)
    changes: list[Change]  # what differs from our row (every listed field for a new one)
    source: str

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.model}"


def package_version() -> str:
    return version(PACKAGE)


def _providers() -> list[Provider]:
    # The bundled snapshot. Imported here, not at module load: it takes ~0.6 s the first time.
    from genai_prices import data_snapshot

    return [p for p in data_snapshot.get_snapshot().providers if p.id in PROVIDERS]


def _text(value: Decimal, per: int = 1) -> str | None:
    """USD (per million tokens, or per `per` uses) as exact text; None when the table cannot
    hold it (finer than a micro-dollar, negative, beyond the table's bound)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    usd = value / per
    micro = usd * 1_000_000
    if micro != micro.to_integral_value() or not 0 <= micro <= pricing.MAX_PRICE_MICRO:
        return None
    return format(usd.normalize(), "f") if usd else "0"


def _rates(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    """The package's token keys as our five rates: cache writes without a price of their own
    are billed as input (OpenAI's), a cache write without a TTL is both TTLs' price."""
    inp = prices["input_mtok"]
    write = prices.get("cache_write_mtok", inp)
    return {
        "input": inp,
        "output": prices["output_mtok"],
        "cache_write_5m": prices.get("cache_write_5m_mtok", write),
        "cache_write_1h": prices.get("cache_write_1h_mtok", write),
        "cache_read": prices.get("cache_read_mtok", inp),
    }


def list_price(provider: Provider, model: ModelInfo, at: datetime) -> ListPrice | None:
    """The model's standard price now (no service tier, batch or region variant) as our
    fields, or None when our table cannot represent it."""
    from genai_prices.types import TieredPrices

    raw: dict[str, Any] = {
        key: value
        for key, value in model.get_prices(at).__dict__.items()
        if not key.startswith("_") and value is not None
    }
    if set(raw) - _KNOWN_KEYS or not {"input_mtok", "output_mtok"} <= set(raw):
        return None
    base: dict[str, Decimal] = {}
    long: dict[str, Decimal] = {}
    threshold: int | None = None
    for key, value in raw.items():
        if isinstance(value, TieredPrices):
            if len(value.tiers) != 1 or key not in _TOKEN_KEYS:
                return None
            tier = value.tiers[0]
            if threshold is not None and tier.start != threshold:
                return None
            threshold = tier.start
            base[key], long[key] = value.base, tier.price
        else:
            base[key] = value
    fields: dict[str, str | None] = dict(_text_rates(_rates(base)))
    fields["long_threshold"] = str(threshold) if threshold is not None else ""
    # The long band: the tiered keys' dearer rates, the others unchanged.
    long_rates = _text_rates(_rates({**base, **long})) if threshold is not None else {}
    for name in price_admin.RATES:
        fields[f"long_{name}"] = long_rates.get(name, "")
    search = base.get("web_searches_kcount")
    fields["web_search"] = _text(search, 1000) if search is not None else ""
    if any(value is None for value in fields.values()) or (
        threshold is not None and threshold <= 0
    ):
        return None
    urls = provider.pricing_urls or []
    source = f"{PACKAGE} {package_version()}: {urls[0] if urls else provider.name}"
    return ListPrice(provider.id, model.id, {k: v or "" for k, v in fields.items()}, source)


def _text_rates(rates: dict[str, Decimal]) -> dict[str, str | None]:
    return {name: _text(value) for name, value in rates.items()}


def _row_name(listed_as: str) -> str:
    """The name a new model is listed under: the package's id without `-latest` (the proxy
    looks a dated or `-latest` name up without its suffix too)."""
    return listed_as.removesuffix("-latest") or listed_as


def _changes(current: dict[str, str], proposed: dict[str, str]) -> list[Change]:
    return [
        Change(name, current.get(name, ""), proposed[name])
        for name in price_admin.PRICE_FIELDS[2:]
        if current.get(name, "") != proposed[name]
    ]


def compute(rows: Sequence[dict[str, str]], at: datetime | None = None) -> list[Proposal]:
    """The proposals for a table whose rows are `price_admin.values_of` dicts (blocking: run
    it in a thread, see `proposals`)."""
    at = at or datetime.now(UTC)
    ours = {(r["provider"], r["model"]): r for r in rows}
    result: list[Proposal] = []
    covered: set[tuple[str, str]] = set()  # package models one of our rows is priced by
    for provider in _providers():
        # Our rows first: each is compared with the model the package would price it by.
        for (row_provider, model), row in sorted(ours.items()):
            if row_provider != provider.id:
                continue
            info = provider.find_model(model)
            if info is None:
                continue
            covered.add((provider.id, info.id))
            listed = list_price(provider, info, at)
            if listed is None:
                continue
            values = {**row, **listed.fields}
            if not listed.fields["web_search"]:
                values["web_search"] = row["web_search"]  # the list has no fee: ours stays
            changes = _changes(row, values)
            if changes:
                result.append(
                    Proposal(provider.id, model, info.id, "changed", values, changes, listed.source)
                )
        named: set[str] = set()
        for info in provider.models:
            name = _row_name(info.id)
            if (provider.id, info.id) in covered or (provider.id, name) in ours or name in named:
                continue
            if not name[-1:].isalnum() or name.startswith("ft:"):
                continue  # a prefix the package matches fine-tuned models by: no model's name
            listed = list_price(provider, info, at)
            if listed is None:
                continue
            try:
                price_admin.checked_model(name)
            except ServiceError:
                continue
            values = {
                "provider": provider.id,
                "model": name,
                **listed.fields,
                "max_output_tokens": "",
                "web_fetch": "",
            }
            changes = _changes({}, values)
            named.add(name)
            result.append(
                Proposal(provider.id, name, info.id, "new", values, changes, listed.source)
            )
    kinds = {"changed": 0, "new": 1}
    return sorted(result, key=lambda p: (kinds[p.kind], p.provider, p.model))


async def proposals(db: AsyncSession) -> list[Proposal]:
    rows = [price_admin.values_of(row) for row in await pricing.list_prices(db)]
    # Off the event loop the proxy shares: the package's first import takes ~0.6 s.
    return await asyncio.to_thread(compute, rows)


def _suggest(provider_id: str, model: str, at: datetime) -> ListPrice | None:
    for provider in _providers():
        if provider.id == provider_id:
            info = provider.find_model(model)
            return list_price(provider, info, at) if info is not None else None
    return None


async def suggestion(provider: str, model: str) -> ListPrice | None:
    """The list price of a model the table lacks (the unknown-models queue's "price it")."""
    if provider not in PROVIDERS:
        return None
    return await asyncio.to_thread(_suggest, provider, model, datetime.now(UTC))


async def accept(db: AsyncSession, actor: Operator, wanted: Sequence[str] | None) -> list[Proposal]:
    """Writes the proposals named (`provider:model` or a model name; None: every one), each
    an audited price change, in the caller's transaction. The proposals are computed again
    here, never taken from the caller; a name with no proposal refuses them all."""
    actor.require("prices")
    found = await proposals(db)
    if wanted is None:
        chosen = found
    else:
        by_key = {p.key: p for p in found}
        by_model: dict[str, list[Proposal]] = {}
        for p in found:
            by_model.setdefault(p.model, []).append(p)
        chosen = []
        for name in dict.fromkeys(wanted):
            match = [by_key[name]] if name in by_key else by_model.get(name, [])
            if len(match) != 1:
                raise ServiceError(
                    "proposal_not_found", f"No proposal for {name[:120]!r}: check again."
                )
            chosen.append(match[0])
    for proposal in chosen:
        data = price_admin.parse_form(proposal.values)
        await price_admin.save_price(db, actor, data, source=proposal.source)
    return chosen
