"""seed model prices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The list prices known at the time of writing; the operator changes them with
`aiusage prices set`. The seed list is copied here (not imported) so this migration
keeps meaning what it meant when later code changes the list.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# provider, model, USD per million tokens: input, output, cache write 5m, 1h, cache read
PRICES = [
    ("anthropic", "claude-opus-4-5", "5", "25", "6.25", "10", "0.50"),
    ("anthropic", "claude-opus-4-1", "15", "75", "18.75", "30", "1.50"),
    ("anthropic", "claude-opus-4-0", "15", "75", "18.75", "30", "1.50"),
    ("anthropic", "claude-opus-4", "15", "75", "18.75", "30", "1.50"),
    ("anthropic", "claude-sonnet-4-5", "3", "15", "3.75", "6", "0.30"),
    ("anthropic", "claude-sonnet-4-0", "3", "15", "3.75", "6", "0.30"),
    ("anthropic", "claude-sonnet-4", "3", "15", "3.75", "6", "0.30"),
    ("anthropic", "claude-3-7-sonnet", "3", "15", "3.75", "6", "0.30"),
    ("anthropic", "claude-haiku-4-5", "1", "5", "1.25", "2", "0.10"),
    ("anthropic", "claude-3-5-haiku", "0.80", "4", "1", "1.60", "0.08"),
    ("anthropic", "claude-3-haiku", "0.25", "1.25", "0.30", "0.50", "0.03"),
    ("openai", "gpt-5", "1.25", "10", "1.25", "1.25", "0.125"),
    ("openai", "gpt-5-mini", "0.25", "2", "0.25", "0.25", "0.025"),
    ("openai", "gpt-5-nano", "0.05", "0.40", "0.05", "0.05", "0.005"),
    ("openai", "gpt-4.1", "2", "8", "2", "2", "0.50"),
    ("openai", "gpt-4.1-mini", "0.40", "1.60", "0.40", "0.40", "0.10"),
    ("openai", "gpt-4.1-nano", "0.10", "0.40", "0.10", "0.10", "0.025"),
    ("openai", "gpt-4o", "2.50", "10", "2.50", "2.50", "1.25"),
    ("openai", "gpt-4o-mini", "0.15", "0.60", "0.15", "0.15", "0.075"),
    ("openai", "o3", "2", "8", "2", "2", "0.50"),
    ("openai", "o4-mini", "1.10", "4.40", "1.10", "1.10", "0.275"),
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
        ],
    )


def downgrade() -> None:
    for provider, model, *_ in PRICES:
        op.execute(
            prices.delete().where(prices.c.provider == provider, prices.c.model == model)
        )
