"""The price table as the operator manages it (console and CLI): a model's prices read from
and written as text in USD per million tokens (exact: parsed to integer micro-USD, never a
float), each change and removal audited in its own transaction with where the price came
from, the history of a model's prices from that audit log, and the queue of models billed at
the default price because the table did not list them.

A change takes effect for the next request served by this process (the proxy's price book
is invalidated when the transaction commits); other processes — standalone proxy workers,
other app instances — reload their book within 30 seconds (`pricing.PriceBook.ttl`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.models import AuditEntry, ModelPrice, UsageRecord, utcnow
from aiusage.services import audit, pricing
from aiusage.services.errors import ServiceError
from aiusage.services.roles import Operator
from aiusage.services.text import checked_text

PROVIDERS = ("anthropic", "openai")
RATES = pricing.RATES  # input, output, cache_write_5m, cache_write_1h, cache_read
LONG_RATES = tuple(f"long_{name}" for name in RATES)
FEES = ("web_search", "web_fetch")  # USD per use
# Every value of a model's price, as the form, the audit log and the CLI name them.
PRICE_FIELDS = (
    "provider",
    "model",
    *RATES,
    "long_threshold",
    *LONG_RATES,
    "max_output_tokens",
    *FEES,
)
TARGET_TYPE = "model_price"
SET, DELETE = "price.set", "price.delete"
MAX_MODEL_CHARS = 100  # the usage and price tables' column
MAX_SOURCE_CHARS = 300
MAX_OUTPUT_TOKENS = 10_000_000  # pricing.set_price's bound
MAX_THRESHOLD = 1_000_000_000
QUEUE_DAYS = 90  # how far back the unknown-models queue looks (the usage table is large)
HISTORY_ROWS = 100

# USD as a person types it: digits, at most 6 decimals (the table keeps micro-USD), no sign,
# exponent, separator or non-ASCII digit (Decimal would read '1e999999999' and '١').
_USD = re.compile(r"[0-9]{1,7}(?:\.[0-9]{1,6})?")
_TOKENS = re.compile(r"[0-9]{1,10}")


class PriceFieldError(ServiceError):
    """A refused form value: `code` says what is wrong, `field` where."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(code, f"{field}: {message}")
        self.field = field


# --- reading and writing a price as text ------------------------------------------------


def usd_text(micro: int | None) -> str:
    """Micro-USD as exact dollars without trailing zeros ('3.75', '0.125', '10'); '' for none."""
    if micro is None:
        return ""
    return format((Decimal(micro) / 1_000_000).normalize(), "f")


def values_of(row: ModelPrice) -> dict[str, str]:
    """A row's prices as text, every field present ('' where the row has none): what the form
    shows, the audit log records and the CLI prints."""
    tiered = row.long_prompt_threshold is not None
    return {
        "provider": row.provider,
        "model": row.model,
        **{name: usd_text(getattr(row, f"{name}_micro")) for name in RATES},
        "long_threshold": str(row.long_prompt_threshold) if tiered else "",
        **{
            f"long_{name}": usd_text(getattr(row, f"long_{name}_micro")) if tiered else ""
            for name in RATES
        },
        "max_output_tokens": str(row.max_output_tokens or ""),
        "web_search": usd_text(row.web_search_call_micro),
        "web_fetch": usd_text(row.web_fetch_call_micro),
    }


def _usd(form: Mapping[str, object], name: str) -> str | None:
    text = _text(form, name)
    if not text:
        return None
    if not _USD.fullmatch(text) or Decimal(text) * 1_000_000 > pricing.MAX_PRICE_MICRO:
        raise PriceFieldError(
            name, "bad_usd", "give US dollars from 0 to 1,000,000, at most 6 decimals (3.75)."
        )
    return text


def _tokens(form: Mapping[str, object], name: str, highest: int) -> int | None:
    text = _text(form, name)
    if not text:
        return None
    if not _TOKENS.fullmatch(text) or not 0 < int(text) <= highest:
        raise PriceFieldError(name, "bad_tokens", f"give a whole number from 1 to {highest:,}.")
    return int(text)


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    # Anything but text (a list or an object from a forged event) is refused as a bad value.
    return value.strip() if isinstance(value, str) else ("" if value is None else repr(value))


def checked_model(value: object) -> str:
    """A model name the proxy can meet: printable, at most 100 characters (no NUL, no lone
    surrogate, no line break)."""
    try:
        model = checked_text(value, code="bad_model", max_chars=MAX_MODEL_CHARS)
    except ServiceError:
        model = ""
    if not model or not model.isprintable():
        raise PriceFieldError(
            "model", "bad_model", f"give the model's name (at most {MAX_MODEL_CHARS} characters)."
        )
    return model


def checked_source(value: object, *, required: bool) -> str:
    try:
        source = checked_text(value, code="bad_source", max_chars=MAX_SOURCE_CHARS)
    except ServiceError as error:
        raise PriceFieldError("source", "bad_source", error.message) from None
    if required and not source:
        raise PriceFieldError(
            "source", "source_required", "say where the price comes from (its page)."
        )
    return source


@dataclass(frozen=True)
class PriceInput:
    """A model's prices as checked text (USD) and whole numbers, ready for the table."""

    provider: str
    model: str
    rates: dict[str, str | None]
    long_threshold: int | None
    long_rates: dict[str, str | None] | None
    max_output_tokens: int | None
    web_search: str | None
    web_fetch: str | None


def parse_form(form: Mapping[str, object]) -> PriceInput:
    """The form's (or the CLI's) text checked field by field; the first bad one is refused
    with its name. Empty cache rates are the input rate; an empty long-prompt tier is none."""
    provider = _text(form, "provider")
    if provider not in PROVIDERS:
        raise PriceFieldError("provider", "bad_provider", "anthropic or openai.")
    model = checked_model(form.get("model"))
    rates = {name: _usd(form, name) for name in RATES}
    for name in ("input", "output"):
        if rates[name] is None:
            raise PriceFieldError(name, "missing", "this price is required.")
    threshold = _tokens(form, "long_threshold", MAX_THRESHOLD)
    long_rates = {name: _usd(form, f"long_{name}") for name in RATES}
    has_long = threshold is not None or any(long_rates.values())
    if has_long and (threshold is None or not long_rates["input"] or not long_rates["output"]):
        raise PriceFieldError(
            "long_threshold",
            "long_incomplete",
            "a long-prompt tier needs its threshold and at least its input and output prices.",
        )
    return PriceInput(
        provider,
        model,
        rates,
        threshold,
        long_rates if has_long else None,
        _tokens(form, "max_output_tokens", MAX_OUTPUT_TOKENS),
        _usd(form, "web_search"),
        _usd(form, "web_fetch"),
    )


def _micro(usd: str | None) -> int | None:
    return None if usd is None else pricing.usd_per_mtok_to_micro(usd)


def _target(provider: str, model: str) -> str:
    return f"{provider}:{model}"


async def find(db: AsyncSession, provider: str, model: str) -> ModelPrice | None:
    return (
        await db.execute(
            sa.select(ModelPrice).where(
                col(ModelPrice.provider) == provider, col(ModelPrice.model) == model
            )
        )
    ).scalar_one_or_none()


async def save_price(
    db: AsyncSession,
    actor: Operator,
    data: PriceInput,
    *,
    source: str,
    keep_unset_extras: bool = False,
) -> ModelPrice:
    """Adds or replaces a model's prices and audits it (before → after, the source as the
    reason) in the caller's transaction. Every field is written as given: an empty maximum
    output or tool fee is the configured default — unless `keep_unset_extras` (the CLI's
    `prices set`, whose omitted options keep what the row has). Nothing changed: refused,
    so the transaction writes nothing."""
    actor.require("prices")
    existing = await find(db, data.provider, data.model)
    before = values_of(existing) if existing is not None else None
    row = await pricing.set_price(
        db,
        data.provider,
        data.model,
        data.rates,
        long_threshold=data.long_threshold,
        long_rates=data.long_rates,
        max_output_tokens=data.max_output_tokens,
    )
    extras = {
        "max_output_tokens": data.max_output_tokens,
        "web_search_call_micro": _micro(data.web_search),
        "web_fetch_call_micro": _micro(data.web_fetch),
    }
    for name, value in extras.items():
        if value is not None or not keep_unset_extras:
            setattr(row, name, value)
    await db.flush()
    after = values_of(row)
    if after == before:
        raise ServiceError("unchanged", "Nothing changed: these are the prices already.")
    await audit.record(
        db,
        actor,
        SET,
        TARGET_TYPE,
        _target(data.provider, data.model),
        before=before,
        after=after,
        reason=source,
    )
    pricing.invalidate_on_commit(db)
    return row


async def delete_price(
    db: AsyncSession, actor: Operator, provider: str, model: str, *, source: str = ""
) -> None:
    """Removes a model from the table (its requests are then billed at the default price and
    queued as unknown), audited with what it was."""
    actor.require("prices")
    row = await find(db, provider, model) if provider in PROVIDERS else None
    if row is None:
        raise ServiceError("price_not_found", "The table has no such model.", status=404)
    before = values_of(row)
    await db.delete(row)
    await db.flush()
    await audit.record(
        db, actor, DELETE, TARGET_TYPE, _target(provider, model), before=before, reason=source
    )
    pricing.invalidate_on_commit(db)


# --- where each price came from --------------------------------------------------------

# The seed migrations' list prices (alembic/versions/*0002*, *0005*; long-prompt tiers 0006,
# maximum output and web search fees 0007), copied here as those migrations copy their lists.
SEED_0002 = "anthropic.com/pricing, openai.com/api/pricing (list prices of 2026-11-23)"
SEED_0005 = "anthropic.com/pricing (the 2026 Claude models, list prices of 2026-11-23)"
SEEDS: dict[str, tuple[str, frozenset[str]]] = {
    "0002": (
        SEED_0002,
        frozenset(
            {
                "anthropic:claude-opus-4-5",
                "anthropic:claude-opus-4-1",
                "anthropic:claude-opus-4-0",
                "anthropic:claude-opus-4",
                "anthropic:claude-sonnet-4-5",
                "anthropic:claude-sonnet-4-0",
                "anthropic:claude-sonnet-4",
                "anthropic:claude-3-7-sonnet",
                "anthropic:claude-haiku-4-5",
                "anthropic:claude-3-5-haiku",
                "anthropic:claude-3-haiku",
                "openai:gpt-5",
                "openai:gpt-5-mini",
                "openai:gpt-5-nano",
                "openai:gpt-4.1",
                "openai:gpt-4.1-mini",
                "openai:gpt-4.1-nano",
                "openai:gpt-4o",
                "openai:gpt-4o-mini",
                "openai:o3",
                "openai:o4-mini",
            }
        ),
    ),
    "0005": (
        SEED_0005,
        frozenset(
            {
                "anthropic:claude-fable-5-1",
                "anthropic:claude-mythos-5-1",
                "anthropic:claude-fable-5",
                "anthropic:claude-mythos-5",
                "anthropic:claude-opus-5-5",
                "anthropic:claude-opus-5",
                "anthropic:claude-opus-4-8",
                "anthropic:claude-opus-4-7",
                "anthropic:claude-opus-4-6",
                "anthropic:claude-sonnet-5-5",
                "anthropic:claude-sonnet-5",
                "anthropic:claude-haiku-5-5",
            }
        ),
    ),
}


@dataclass(frozen=True)
class Source:
    """Where a row's current prices came from: its last audited change (who, when, the
    source they gave), else the migration that seeded it."""

    text: str
    actor: str = ""
    at: datetime | None = None
    seed: str = ""  # the seeding migration's number, when no change was audited since


def seed_of(provider: str, model: str) -> Source | None:
    for migration, (text, models) in SEEDS.items():
        if _target(provider, model) in models:
            return Source(text, seed=migration)
    return None


@dataclass(frozen=True)
class PriceRow:
    values: dict[str, str]
    updated_at: datetime
    source: Source | None


async def table(db: AsyncSession) -> list[PriceRow]:
    """Every row with its source, by provider and model."""
    rows = await pricing.list_prices(db)
    latest = (
        sa.select(sa.func.max(col(AuditEntry.id)))
        .where(col(AuditEntry.target_type) == TARGET_TYPE, col(AuditEntry.action) == SET)
        .group_by(col(AuditEntry.target_id))
    )
    changes = {
        entry.target_id: entry
        for entry in (
            await db.execute(sa.select(AuditEntry).where(col(AuditEntry.id).in_(latest)))
        ).scalars()
    }
    result = []
    for row in rows:
        entry = changes.get(_target(row.provider, row.model))
        source = (
            Source(entry.reason, entry.actor, entry.created_at)
            if entry is not None
            else seed_of(row.provider, row.model)
        )
        result.append(PriceRow(values_of(row), row.updated_at, source))
    return result


# --- history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str  # price.set | price.delete
    source: str
    changes: list[Change]


def _fields(text: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()} if value else {}


async def history(db: AsyncSession, provider: str, model: str) -> list[HistoryEntry]:
    """A model's audited changes, newest first: who, when, and each field before → after."""
    entries = await audit.entries(
        db,
        audit.AuditFilter(
            action="price.", target_type=TARGET_TYPE, target_id=_target(provider, model)
        ),
        limit=HISTORY_ROWS,
    )
    result = []
    for entry in entries:
        before, after = _fields(entry.before), _fields(entry.after)
        changes = [
            Change(name, before.get(name, ""), after.get(name, ""))
            for name in PRICE_FIELDS[2:]
            if before.get(name, "") != after.get(name, "")
        ]
        result.append(
            HistoryEntry(entry.created_at, entry.actor, entry.action, entry.reason, changes)
        )
    return result


# --- the unknown-models queue -------------------------------------------------------------


@dataclass(frozen=True)
class UnknownModel:
    provider: str
    model: str
    requests: int
    last_seen: datetime


async def unknown_models(db: AsyncSession, days: int = QUEUE_DAYS) -> list[UnknownModel]:
    """Models billed at the default price in the last `days` days that the table still does
    not price (by the proxy's rule: the exact name, or the name without its date suffix);
    the most requested first."""
    since = utcnow() - timedelta(days=days)
    grouped = await db.execute(
        sa.select(
            col(UsageRecord.provider),
            col(UsageRecord.model),
            sa.func.count(),
            sa.func.max(col(UsageRecord.created_at)),
        )
        .where(col(UsageRecord.created_at) >= since, col(UsageRecord.priced_by_default).is_(True))
        .group_by(col(UsageRecord.provider), col(UsageRecord.model))
    )
    priced = set(
        (await db.execute(sa.select(col(ModelPrice.provider), col(ModelPrice.model))))
        .tuples()
        .all()
    )
    queue = [
        UnknownModel(provider, model, int(requests), last_seen)
        for provider, model, requests, last_seen in grouped.tuples()
        if (provider, model) not in priced and (provider, pricing.undated(model)) not in priced
    ]
    return sorted(queue, key=lambda u: (-u.requests, u.provider, u.model))
