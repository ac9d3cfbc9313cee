"""seed 2026 model prices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

List prices of the Claude models released in 2026 (USD per million tokens). Claude Haiku
5.5's dearer band for prompts over 100k tokens is added by migration 0006.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# provider, model, USD per million tokens: input, output, cache write 5m, 1h, cache read
PRICES = [
    ("anthropic", "claude-fable-5-1", "10", "50", "12.50", "20", "0.25"),
    ("anthropic", "claude-mythos-5-1", "10", "50", "12.50", "20", "0.25"),
    ("anthropic", "claude-fable-5", "10", "50", "12.50", "20", "1"),
    ("anthropic", "claude-mythos-5", "10", "50", "12.50", "20", "1"),
    ("anthropic", "claude-opus-5-5", "4", "20", "5", "8", "0.20"),
    ("anthropic", "claude-opus-5", "5", "25", "6.25", "10", "0.50"),
    ("anthropic", "claude-opus-4-8", "5", "25", "6.25", "10", "0.50"),
    ("anthropic", "claude-opus-4-7", "5", "25", "6.25", "10", "0.50"),
    ("anthropic", "claude-opus-4-6", "5", "25", "6.25", "10", "0.50"),
    ("anthropic", "claude-sonnet-5-5", "2", "10", "2.50", "4", "0.10"),
    ("anthropic", "claude-sonnet-5", "2", "10", "2.50", "4", "0.20"),
    ("anthropic", "claude-haiku-5-5", "0.10", "0.50", "0.125", "0.20", "0.01"),
]

prices = sa.table(
    "model_prices",
    sa.column("provider", sa.String),
    sa.column("model", sa.String),
    sa.column("input_micro", sa.BigInteger),
    sa.column("output_micro", sa.BigInteger),
    sa.column("cache_write_5m_micro", sa.BigInteger),
    sa.column("cache_write_1h_micro", sa.BigInteger),
    sa.column("cache_read_micro", sa.BigInteger),
    sa.column("updated_at", sa.DateTime(timezone=True)),  # aware UTC, as the model stores it
)


def _micro(usd: str) -> int:
    return int(Decimal(usd) * 1_000_000)


def upgrade() -> None:
    existing = {
        (row.provider, row.model)
        for row in op.get_bind().execute(sa.select(prices.c.provider, prices.c.model))
    }
    now = datetime.now(UTC)  # a naive time would be read in PostgreSQL's session time zone
    op.bulk_insert(
        prices,
        [
            {
                "provider": provider,
                "model": model,
                "input_micro": _micro(inp),
                "output_micro": _micro(out),
                "cache_write_5m_micro": _micro(cw5),
                "cache_write_1h_micro": _micro(cw1h),
                "cache_read_micro": _micro(cr),
                "updated_at": now,
            }
            for provider, model, inp, out, cw5, cw1h, cr in PRICES
            if (provider, model) not in existing  # an operator's own price wins
        ],
    )


def downgrade() -> None:
    for provider, model, *_ in PRICES:
        op.execute(prices.delete().where(prices.c.provider == provider, prices.c.model == model))
