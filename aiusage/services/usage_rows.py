"""The usage page's request table: a user's raw usage rows, newest first, a page at a time
along the `ix_usage_user_created` index (keyset paging: the cursor is the last row's
(created_at, id)), metadata only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import ProxyKey, UsageRecord
from aiusage.models.base import table_of
from aiusage.services.pricing import fee_nano
from aiusage.services.usage_filters import PAGE_SIZE, K, U, UsageFilter, raw_where

# --- raw rows (usage, newest first, keyset-paged) -----------------------------------------

_ROW_COLUMNS = (
    U.id,
    U.created_at,
    U.proxy_key_id,
    K.name.label("key_name"),
    U.provider,
    U.model,
    U.endpoint,
    U.input_tokens,
    U.output_tokens,
    U.cache_write_5m_tokens,
    U.cache_write_1h_tokens,
    U.cache_read_tokens,
    U.cost_nano,
    U.charged_nano,
    U.latency_ms,
    U.ttfb_ms,
    U.status,
    U.error_type,
    U.streamed,
    U.key_source,
)


@dataclass(frozen=True)
class UsageRow:
    id: int
    created_at: datetime
    proxy_key_id: int | None
    key_name: str | None
    provider: str
    model: str
    endpoint: str
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    cost_nano: int
    charged_nano: int
    latency_ms: int
    ttfb_ms: int | None
    status: int
    error_type: str | None
    streamed: bool
    key_source: str

    @property
    def fee_nano(self) -> int:
        return fee_nano(self.cost_nano, self.charged_nano, byok=self.key_source == "byok")


Cursor = tuple[datetime, int]


async def page(
    db: AsyncSession, f: UsageFilter, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> tuple[list[UsageRow], Cursor | None]:
    """Up to `limit` rows, newest first, after the cursor; and the cursor of the next page
    (None on the last page)."""
    limit = max(1, min(limit, 1000))
    where = raw_where(f)
    if after is not None:
        at, row_id = after
        where.append(sa.or_(U.created_at < at, sa.and_(U.created_at == at, U.id < row_id)))
    statement = (
        sa.select(*_ROW_COLUMNS)
        .select_from(
            sa.outerjoin(
                table_of(UsageRecord),
                table_of(ProxyKey),
                sa.and_(K.id == U.proxy_key_id, K.user_id == U.user_id),
            )
        )
        .where(*where)
        .order_by(U.created_at.desc(), U.id.desc())
        .limit(limit + 1)
    )
    rows = [UsageRow(*tuple(r)) for r in await db.execute(statement)]
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, (rows[-1].created_at, rows[-1].id)
    return rows, None
