"""Usage broken down: totals per model, per proxy key and per provider key over a filter, and
one request's full record (metadata only, never content). Every query is scoped by the
filter's or the caller's user id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.models import ROLLUP_TOTALS, ProviderKey, ProxyKey, UsageRecord
from aiusage.models.base import table_of
from aiusage.services.pricing import fee_nano
from aiusage.services.usage import U, UsageFilter, rollup_rows


@dataclass(frozen=True)
class GroupTotals:
    """One model's or one key's totals over the filter."""

    name: str  # the model, or the key's name ("" for requests without a key)
    key_prefix: str  # the key's prefix when grouped by key
    requests: int
    errors: int
    tokens: int  # input, output and cache, together
    cost_nano: int
    fee_nano: int
    charged_nano: int

    @property
    def error_rate_bps(self) -> int:
        """Errors per 10,000 requests (integer: shown as a percentage with two decimals)."""
        return self.errors * 10_000 // self.requests if self.requests else 0


async def totals_by(
    db: AsyncSession, f: UsageFilter, by: Literal["model", "key"]
) -> list[GroupTotals]:
    """Per model or per proxy key, most charged first (from the rollups)."""
    r = rollup_rows(
        f,
        "user_id",
        "proxy_key_id",
        "model",
        *ROLLUP_TOTALS,
    ).c
    sums = (
        sa.func.sum(r.requests),
        sa.func.sum(r.errors),
        sa.func.sum(r.input_tokens + r.output_tokens + r.cache_write_tokens + r.cache_read_tokens),
        sa.func.sum(r.cost_nano),
        sa.func.sum(r.fee_nano),
        sa.func.sum(r.charged_nano),
    )
    if by == "model":
        statement = sa.select(r.model, sa.literal(""), *sums).group_by(r.model)
    else:
        k = table_of(ProxyKey).c
        statement = (
            sa.select(sa.func.coalesce(k.name, ""), sa.func.coalesce(k.prefix, ""), *sums)
            .select_from(
                sa.outerjoin(
                    r.requests.table,
                    table_of(ProxyKey),
                    sa.and_(k.id == r.proxy_key_id, k.user_id == r.user_id),
                )
            )
            .group_by(r.proxy_key_id, k.name, k.prefix)
        )
    groups = [
        GroupTotals(str(name), str(prefix), *(int(v or 0) for v in values))
        for name, prefix, *values in await db.execute(statement)
    ]
    return sorted(groups, key=lambda g: (-g.charged_nano, -g.requests, g.name))


@dataclass(frozen=True)
class RequestDetail:
    """Everything stored about one request: what it was, what it cost, how it went."""

    id: int
    request_id: str
    created_at: datetime
    key_name: str | None
    key_prefix: str | None
    provider: str
    endpoint: str
    model: str
    key_source: str
    provider_key_label: str | None
    provider_key_last4: str | None
    streamed: bool
    status: int
    error_type: str | None
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    web_search_calls: int
    web_fetch_calls: int
    file_search_calls: int
    code_interpreter_containers: int
    cost_nano: int
    charged_nano: int
    priced_by_default: bool
    tokens_estimated: bool
    latency_ms: int
    ttfb_ms: int | None
    user_agent: str

    @property
    def fee_nano(self) -> int:
        return fee_nano(self.cost_nano, self.charged_nano, byok=self.key_source == "byok")


_DETAIL_COLUMNS = (
    U.id,
    U.request_id,
    U.created_at,
    table_of(ProxyKey).c.name,
    table_of(ProxyKey).c.prefix,
    U.provider,
    U.endpoint,
    U.model,
    U.key_source,
    U.provider_key_label,
    U.provider_key_last4,
    U.streamed,
    U.status,
    U.error_type,
    U.input_tokens,
    U.output_tokens,
    U.cache_write_5m_tokens,
    U.cache_write_1h_tokens,
    U.cache_read_tokens,
    U.web_search_calls,
    U.web_fetch_calls,
    U.file_search_calls,
    U.code_interpreter_containers,
    U.cost_nano,
    U.charged_nano,
    U.priced_by_default,
    U.tokens_estimated,
    U.latency_ms,
    U.ttfb_ms,
    U.user_agent,
)


async def request_detail(db: AsyncSession, user_id: int, usage_id: int) -> RequestDetail | None:
    """One of `user_id`'s requests; None when the id is not one of theirs."""
    k = table_of(ProxyKey).c
    row = (
        await db.execute(
            sa.select(*_DETAIL_COLUMNS)
            .select_from(
                sa.outerjoin(
                    table_of(UsageRecord),
                    table_of(ProxyKey),
                    sa.and_(k.id == U.proxy_key_id, k.user_id == U.user_id),
                )
            )
            .where(U.id == usage_id, U.user_id == user_id)
        )
    ).one_or_none()
    return RequestDetail(*tuple(row)) if row is not None else None


@dataclass(frozen=True)
class ProviderKeySpend:
    """What one of the user's provider keys served since a time (None: the platform's)."""

    provider: str
    key_id: int | None
    last4: str | None
    label: str | None
    requests: int
    cost_nano: int
    charged_nano: int


async def spend_by_provider_key(
    db: AsyncSession, user_id: int, since: datetime
) -> list[ProviderKeySpend]:
    """Requests, upstream cost and charges per provider key that served them (the usage
    rows name it), biggest cost first. A key still stored shows its current label; a
    deleted one the last four and label its rows kept."""
    u = UsageRecord
    rows = await db.execute(
        sa.select(
            col(u.provider),
            col(u.provider_key_id),
            sa.func.max(col(u.provider_key_last4)),
            sa.func.max(col(u.provider_key_label)),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(col(u.cost_nano)), 0),
            sa.func.coalesce(sa.func.sum(col(u.charged_nano)), 0),
        )
        .where(col(u.user_id) == user_id, col(u.created_at) >= since)
        .group_by(col(u.provider), col(u.provider_key_id))
    )
    found = list(rows)
    ids = [key_id for _, key_id, *_ in found if key_id is not None]
    current: dict[int | None, tuple[str | None, str | None]] = {}
    if ids:
        current = {
            key_id: (last4, label)
            for key_id, last4, label in await db.execute(
                sa.select(
                    col(ProviderKey.id), col(ProviderKey.last4), col(ProviderKey.label)
                ).where(col(ProviderKey.user_id) == user_id, col(ProviderKey.id).in_(ids))
            )
        }
    spends = [
        ProviderKeySpend(
            provider,
            key_id,
            *(current.get(key_id) or (last4, label)),
            int(n),
            int(cost),
            int(charged),
        )
        for provider, key_id, last4, label, n, cost, charged in found
    ]
    return sorted(spends, key=lambda s: (-s.cost_nano, s.provider, s.key_id or 0))
