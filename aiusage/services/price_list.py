"""The public price list: every model of the price table with its rates per million tokens,
grouped by provider, plus the service fee and the markup, as the proxy charges them.

Plain functions over a session (no Reflex), so the pricing page and its tests read the same
figures. Rates stay integers (micro-USD per million tokens) until they are formatted for a
language; fees are basis points."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.i18n import t
from aiusage.i18n.formatting import format_money, format_tokens
from aiusage.models import ModelPrice
from aiusage.money import NANO_PER_USD
from aiusage.services import pricing

# The providers the table can hold (services.pricing.set_price), in the page's order.
PROVIDERS: dict[str, str] = {"anthropic": "Anthropic", "openai": "OpenAI"}
RATE_NAMES = pricing.RATES  # input, output, cache_write_5m, cache_write_1h, cache_read
MICRO_PER_USD = 1_000_000


@dataclass(frozen=True)
class Rates:
    """Micro-USD per million tokens."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int

    @classmethod
    def of(cls, price: pricing.Price) -> Rates:
        return cls(*(getattr(price, name) for name in RATE_NAMES))


@dataclass(frozen=True)
class ModelPrices:
    model: str
    rates: Rates
    # The dearer rates of every token of a prompt over `long_threshold` tokens, if any.
    long_threshold: int | None = None
    long_rates: Rates | None = None


@dataclass(frozen=True)
class ProviderPrices:
    provider: str
    name: str
    models: list[ModelPrices]


@dataclass(frozen=True)
class Fees:
    service_fee_bps: int  # on the cost of a request made with the user's own key
    markup_bps: int  # on the cost of a request made with the platform's key


def model_prices(price_row: ModelPrice) -> ModelPrices:
    """One table row as the proxy charges it (pricing.price_of fills the long tier's gaps)."""
    price = pricing.price_of(price_row)
    if price.long is None:
        return ModelPrices(price_row.model, Rates.of(price))
    return ModelPrices(price_row.model, Rates.of(price), price.long_threshold, Rates.of(price.long))


async def price_list(session: AsyncSession) -> list[ProviderPrices]:
    """Every provider we serve (even one without models yet), its models sorted by name."""
    rows = await pricing.list_prices(session)
    return [
        ProviderPrices(
            provider,
            name,
            [model_prices(row) for row in rows if row.provider == provider],
        )
        for provider, name in PROVIDERS.items()
    ]


def fees() -> Fees:
    settings = get_settings()
    return Fees(settings.byok_service_fee_bps, settings.platform_markup_bps)


def percent(bps: int) -> str:
    """Basis points as a percentage without trailing zeros: 500 → '5%', 250 → '2.5%'."""
    return f"{(Decimal(bps) / 100).normalize():f}%"


def places_for(micro: int) -> int:
    """Decimals that show a micro-USD amount exactly: at least cents, at most six."""
    for places in range(2, 6):
        if micro % 10 ** (6 - places) == 0:
            return places
    return 6


def per_mtok(micro: int, lang: str) -> str:
    """A rate, exact: 3_000_000 → '$3.00', 125_000 → '$0.125' ('US$…' in Chinese)."""
    nano = micro * (NANO_PER_USD // MICRO_PER_USD)
    return format_money(nano, lang, places_for(micro))


def rate_cells(rates: Rates, lang: str) -> dict[str, str]:
    return {name: per_mtok(getattr(rates, name), lang) for name in RATE_NAMES}


def table_rows(prices: ProviderPrices, lang: str) -> list[dict[str, str]]:
    """The rows a page shows: one per model, then one for its long-prompt tier if it has one
    (`tier` is "1" on those)."""
    rows: list[dict[str, str]] = []
    for item in prices.models:
        rows.append({"model": item.model, "tier": "", **rate_cells(item.rates, lang)})
        if item.long_rates is not None and item.long_threshold is not None:
            label = t(lang, "pricing.long_tier", threshold=format_tokens(item.long_threshold, lang))
            rows.append({"model": label, "tier": "1", **rate_cells(item.long_rates, lang)})
    return rows


def example_charges(cost_usd: int = 1) -> tuple[int, int, int]:
    """(cost, what the user pays on their own key, what they pay from credit) in nano-USD for
    a request costing `cost_usd` dollars at list price, computed as the proxy charges."""
    cost = cost_usd * NANO_PER_USD
    return (
        cost,
        pricing.charge_nano(cost, byok=True),
        pricing.charge_nano(cost, byok=False),
    )


def unknown_model_rates() -> Rates:
    """What a model missing from the table is charged until the operator prices it."""
    return Rates.of(pricing.default_price())
