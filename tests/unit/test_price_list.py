"""The public price list (services/price_list.py) over a price table of its own: grouped by
provider, every rate exact in both languages, the long-prompt tier as the proxy charges it,
and the fee and markup from the configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from aiusage import models  # noqa: F401 (registers the tables)
from aiusage.services import price_list, pricing


@pytest.fixture
async def db() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


async def _table(db: AsyncSession) -> None:
    rates = {
        "input": "3",
        "output": "15",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
        "cache_read": "0.30",
    }
    await pricing.set_price(
        db,
        "anthropic",
        "claude-sonnet-4-5",
        rates,
        long_threshold=200_000,
        long_rates={"input": "6", "output": "22.50", "cache_read": "0.60"},
    )
    await pricing.set_price(db, "anthropic", "claude-haiku-4-5", {"input": "1", "output": "5"})
    await pricing.set_price(
        db, "openai", "gpt-5-nano", {"input": "0.05", "output": "0.40", "cache_read": "0.005"}
    )


async def test_grouped_by_provider_sorted_by_model(db):
    await _table(db)
    groups = await price_list.price_list(db)
    assert [(g.provider, g.name) for g in groups] == [
        ("anthropic", "Anthropic"),
        ("openai", "OpenAI"),
    ]
    assert [m.model for m in groups[0].models] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    sonnet = groups[0].models[1]
    assert sonnet.rates == price_list.Rates(3_000_000, 15_000_000, 3_750_000, 6_000_000, 300_000)
    assert sonnet.long_threshold == 200_000
    # Cache writes the tier does not name cost its input rate, as the proxy charges them.
    assert sonnet.long_rates == price_list.Rates(
        6_000_000, 22_500_000, 6_000_000, 6_000_000, 600_000
    )
    assert groups[0].models[0].long_rates is None


async def test_a_provider_without_models_is_listed_empty(db):
    await pricing.set_price(db, "anthropic", "claude-x", {"input": "1", "output": "2"})
    groups = {g.provider: g for g in await price_list.price_list(db)}
    assert groups["openai"].models == []
    assert price_list.table_rows(groups["openai"], "en") == []


async def test_rows_are_exact_in_both_languages(db):
    await _table(db)
    anthropic, openai = await price_list.price_list(db)
    rows = price_list.table_rows(anthropic, "en")
    assert [r["model"] for r in rows] == [
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
        "prompts over 200K tokens",
    ]
    assert rows[1] == {
        "model": "claude-sonnet-4-5",
        "tier": "",
        "input": "$3.00",
        "output": "$15.00",
        "cache_write_5m": "$3.75",
        "cache_write_1h": "$6.00",
        "cache_read": "$0.30",
    }
    assert rows[2]["tier"] == "1" and rows[2]["output"] == "$22.50"
    zh = price_list.table_rows(anthropic, "zh")
    assert zh[2]["model"] == "提示超过 20万 token" and zh[2]["input"] == "US$6.00"
    nano = price_list.table_rows(openai, "en")[0]
    # Fractions of a cent are shown exactly, never rounded away.
    assert (nano["input"], nano["output"], nano["cache_read"]) == ("$0.05", "$0.40", "$0.005")


def test_rates_format_exactly():
    assert price_list.per_mtok(125_000, "en") == "$0.125"
    assert price_list.per_mtok(1, "en") == "$0.000001"
    assert price_list.per_mtok(1_250_000, "zh") == "US$1.25"
    assert price_list.per_mtok(75_000_000, "en") == "$75.00"
    assert price_list.per_mtok(1_000_000_000_000, "en") == "$1,000,000.00"


def test_percentages_from_basis_points():
    assert price_list.percent(500) == "5%"
    assert price_list.percent(1000) == "10%"
    assert price_list.percent(250) == "2.5%"
    assert price_list.percent(1) == "0.01%"
    assert price_list.percent(0) == "0%"


def test_fees_and_example_follow_the_configuration(monkeypatch):
    from aiusage.config import get_settings

    changed = get_settings().model_copy(
        update={"byok_service_fee_bps": 250, "platform_markup_bps": 1500}
    )
    monkeypatch.setattr(price_list, "get_settings", lambda: changed)
    monkeypatch.setattr(pricing, "get_settings", lambda: changed)
    assert price_list.fees() == price_list.Fees(250, 1500)
    cost, byok, credit = price_list.example_charges()
    assert (cost, byok, credit) == (1_000_000_000, 25_000_000, 1_150_000_000)
