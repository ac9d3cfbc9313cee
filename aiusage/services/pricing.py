"""Model prices and the cost of a request, exact in integers.

Prices are micro-USD per million tokens; a cost is nano-USD. tokens × (micro-USD / MTok)
is 10⁻¹² USD, so dividing by 1000 (rounding up: never under-bill) gives nano-USD."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, cast

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.models import ModelPrice, utcnow
from aiusage.services.errors import ServiceError

_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


MAX_PRICE_MICRO = 10**12  # $1,000,000 per million tokens (or per use): far above any price


def usd_per_mtok_to_micro(value: str | Decimal) -> int:
    try:
        micro = Decimal(value) * 1_000_000
    except (InvalidOperation, ValueError, TypeError):
        micro = Decimal("NaN")
    if (
        not micro.is_finite()
        or micro != micro.to_integral_value()
        or not 0 <= micro <= MAX_PRICE_MICRO
    ):
        raise ServiceError(
            "bad_price", "Prices must be from 0 to 1,000,000 with at most 6 decimals (USD)."
        )
    return int(micro)


@dataclass(frozen=True)
class Price:
    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    is_default: bool = False
    max_output_tokens: int | None = None  # None: the configured default
    web_search_call: int = 0  # micro-USD per server-side web search
    web_fetch_call: int = 0  # micro-USD per server-side web fetch
    file_search_call: int = 0  # micro-USD per hosted file search (OpenAI Responses)
    code_interpreter_container: int = 0  # micro-USD per code interpreter container used
    # Rates for every token of a request whose prompt is over `long_threshold` tokens.
    long: Price | None = None
    long_threshold: int | None = None

    @property
    def max_input(self) -> int:
        return max(self.input, self.cache_write_5m, self.cache_write_1h, self.cache_read)

    def for_prompt(self, prompt_tokens: int) -> Price:
        over = self.long_threshold is not None and prompt_tokens > self.long_threshold
        return self.long if over and self.long is not None else self


@dataclass
class TokenCounts:
    input: int = 0  # uncached input (Anthropic's input_tokens; OpenAI's prompt minus cached)
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    web_search_calls: int = 0  # server-side tool uses the upstream bills per use
    web_fetch_calls: int = 0
    file_search_calls: int = 0
    code_interpreter_containers: int = 0
    estimated: bool = False

    @property
    def prompt(self) -> int:
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def tool_fees_nano(price: Price, tokens: TokenCounts) -> int:
    """Server-side tool fees (per use, not per token) in nano-USD."""
    return (
        tokens.web_search_calls * price.web_search_call
        + tokens.web_fetch_calls * price.web_fetch_call
        + tokens.file_search_calls * price.file_search_call
        + tokens.code_interpreter_containers * price.code_interpreter_container
    ) * 1000


def cost_nano(price: Price, tokens: TokenCounts) -> int:
    rates = price.for_prompt(tokens.prompt)
    units = (
        tokens.input * rates.input
        + tokens.output * rates.output
        + tokens.cache_write_5m * rates.cache_write_5m
        + tokens.cache_write_1h * rates.cache_write_1h
        + tokens.cache_read * rates.cache_read
    )
    return _ceil_div(units, 1000) + tool_fees_nano(price, tokens)


def worst_case_cost_nano(
    price: Price, input_bound: int, output_bound: int, server_tool_uses: int = 0
) -> int:
    """An upper bound of `cost_nano` for any counts within the bounds: every input token at
    the dearest input rate (of the long-prompt band too, if the bound reaches it), all the
    output, and every allowed server-tool use at the dearer of the tool fees."""
    rates = [price, price.for_prompt(input_bound)]
    tokens = max(
        _ceil_div(input_bound * p.max_input + output_bound * p.output, 1000) for p in rates
    )
    fee = max(
        price.web_search_call,
        price.web_fetch_call,
        price.file_search_call,
        price.code_interpreter_container,
    )
    return tokens + server_tool_uses * fee * 1000


def charge_nano(cost: int, *, byok: bool) -> int:
    """What the user pays: a service fee on their own key's cost, or cost plus markup."""
    settings = get_settings()
    if byok:
        return _ceil_div(cost * settings.byok_service_fee_bps, 10_000)
    return cost + _ceil_div(cost * settings.platform_markup_bps, 10_000)


def fee_nano(cost: int, charged: int, *, byok: bool) -> int:
    """Our part of a charge: all of it on the user's own key (the provider bills them the
    cost directly), the markup above the provider's cost on the platform's key."""
    return charged if byok else max(0, charged - cost)


def default_price() -> Price:
    settings = get_settings()
    inp = usd_per_mtok_to_micro(settings.unknown_model_input_usd_per_mtok)
    out = usd_per_mtok_to_micro(settings.unknown_model_output_usd_per_mtok)
    tool = _usd_to_micro(settings.unknown_server_tool_usd_per_call)
    # Unknown cache rates: charge cache tokens at twice the input (the highest list ratio).
    return Price(
        inp,
        out,
        inp * 2,
        inp * 2,
        inp,
        is_default=True,
        web_search_call=tool,
        web_fetch_call=tool,
        **hosted_tool_fees(),
    )


class HostedToolFees(TypedDict, total=False):
    file_search_call: int
    code_interpreter_container: int


def hosted_tool_fees() -> HostedToolFees:
    """OpenAI's hosted-tool fees (configured, the same for every model)."""
    settings = get_settings()
    return HostedToolFees(
        file_search_call=_usd_to_micro(settings.openai_file_search_usd_per_call),
        code_interpreter_container=_usd_to_micro(
            settings.openai_code_interpreter_usd_per_container
        ),
    )


def _usd_to_micro(usd: Decimal) -> int:
    return int((usd * 1_000_000).to_integral_value(rounding="ROUND_CEILING"))


def max_output_tokens(price: Price) -> int:
    """The most output the model can produce (the table's, else the configured default)."""
    return price.max_output_tokens or get_settings().unknown_model_max_output_tokens


def price_of(row: ModelPrice) -> Price:
    long = None
    if row.long_prompt_threshold is not None and row.long_input_micro is not None:
        long = Price(
            row.long_input_micro,
            row.long_output_micro or row.output_micro,
            row.long_cache_write_5m_micro or row.long_input_micro,
            row.long_cache_write_1h_micro or row.long_input_micro,
            row.long_cache_read_micro or row.long_input_micro,
        )
    unknown_tool = _usd_to_micro(get_settings().unknown_server_tool_usd_per_call)
    return Price(
        row.input_micro,
        row.output_micro,
        row.cache_write_5m_micro,
        row.cache_write_1h_micro,
        row.cache_read_micro,
        max_output_tokens=row.max_output_tokens,
        web_search_call=(
            row.web_search_call_micro if row.web_search_call_micro is not None else unknown_tool
        ),
        web_fetch_call=(
            row.web_fetch_call_micro if row.web_fetch_call_micro is not None else unknown_tool
        ),
        **(hosted_tool_fees() if row.provider == "openai" else HostedToolFees()),
        long=long,
        long_threshold=row.long_prompt_threshold if long else None,
    )


# Bumped by `invalidate()`: every PriceBook of this process that loaded before is stale.
_generation = 0


def invalidate() -> None:
    """Makes every PriceBook of this process reload at its next use: a price changed here.
    Other processes (standalone proxy workers, other app instances) see it within their
    book's `ttl` (30 s)."""
    global _generation
    _generation += 1


def invalidate_on_commit(session: AsyncSession) -> None:
    """`invalidate()` once the session's transaction has committed: a reload before the
    commit would read the old prices and keep them for a whole `ttl`."""
    event.listen(session.sync_session, "after_commit", lambda _session: invalidate(), once=True)


def undated(model: str) -> str:
    """The model's name without a date or `-latest` suffix: the table's second guess."""
    return _DATE_SUFFIX.sub("", model)


class PriceBook:
    """The price table cached in memory, reloaded every `ttl` seconds, and at once after a
    change made in this process (`invalidate`)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._prices: dict[tuple[str, str], Price] = {}
        self._loaded_at = -1e9
        self._generation = -1

    def stale(self) -> bool:
        return self._generation != _generation or time.monotonic() - self._loaded_at > self.ttl

    async def reload(self, session: AsyncSession) -> None:
        # Read before the query: an invalidation during it leaves the book stale.
        generation = _generation
        rows = (await session.execute(select(ModelPrice))).scalars().all()
        self._prices = {(r.provider, r.model): price_of(r) for r in rows}
        self._loaded_at = time.monotonic()
        self._generation = generation

    def models(self, provider: str) -> list[str]:
        return sorted(model for (row_provider, model) in self._prices if row_provider == provider)

    def lists(self, provider: str, model: str) -> bool:
        """True when the table has a row for this model (exact, or without its date suffix)."""
        return (provider, model) in self._prices or (
            provider,
            _DATE_SUFFIX.sub("", model),
        ) in self._prices

    def lookup(self, provider: str, model: str) -> Price:
        """Exact name, then without a date/`-latest` suffix; else the flagged default."""
        price = self._prices.get((provider, model))
        if price is None:
            price = self._prices.get((provider, _DATE_SUFFIX.sub("", model)))
        return price or default_price()


RATES = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


def _rates_micro(rates: dict[str, str | None]) -> dict[str, int]:
    """USD-per-MTok strings to micro integers; cache rates default to the input rate."""
    if not rates.get("input") or not rates.get("output"):
        raise ServiceError("bad_price", "Give at least the input and output prices.")
    micro = {name: usd_per_mtok_to_micro(value) for name, value in rates.items() if value}
    return {name: micro.get(name, micro["input"]) for name in RATES}


async def set_price(
    session: AsyncSession,
    provider: str,
    model: str,
    rates: dict[str, str | None],
    *,
    long_threshold: int | None = None,
    long_rates: dict[str, str | None] | None = None,
    max_output_tokens: int | None = None,
    tool_fees: dict[str, str | None] | None = None,
) -> ModelPrice:
    """Adds or replaces a model's prices (USD per million tokens, as strings: exact), its
    maximum output (tokens) and its server-tool fees (USD per use; empty: the default)."""
    if max_output_tokens is not None and not 0 < max_output_tokens <= 10_000_000:
        raise ServiceError("bad_price", "The maximum output must be 1 to 10,000,000 tokens.")
    model = model.strip()
    if provider not in ("anthropic", "openai") or not model or len(model) > 100:
        raise ServiceError("bad_model", "Give a provider (anthropic|openai) and a model name.")
    if (long_threshold is None) != (long_rates is None) or (
        long_threshold is not None and long_threshold <= 0
    ):
        raise ServiceError("bad_price", "A long-prompt tier needs a threshold > 0 and its prices.")
    values: dict[str, int | None] = {
        f"{name}_micro": value for name, value in _rates_micro(rates).items()
    }
    long = _rates_micro(long_rates) if long_rates is not None else {}
    values["long_prompt_threshold"] = long_threshold
    # Given only when changing: an existing row keeps its maximum and fees otherwise.
    if max_output_tokens is not None:
        values["max_output_tokens"] = max_output_tokens
    for tool, usd in (tool_fees or {}).items():
        if usd:  # USD per use to micro-USD: the same exactness as a per-MTok rate
            values[f"{tool}_call_micro"] = usd_per_mtok_to_micro(usd)
    values.update({f"long_{name}_micro": long.get(name) for name in RATES})
    row = (
        await session.execute(
            select(ModelPrice).where(
                col(ModelPrice.provider) == provider, col(ModelPrice.model) == model
            )
        )
    ).scalar_one_or_none()
    if row is None:
        # Columns by name: checked above, not by mypy (the rates are always all there).
        row = ModelPrice(provider=provider, model=model, **cast("dict[str, Any]", values))
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
    await session.flush()
    return row


async def list_prices(session: AsyncSession) -> list[ModelPrice]:
    result = await session.execute(
        select(ModelPrice).order_by(col(ModelPrice.provider), col(ModelPrice.model))
    )
    return list(result.scalars())
