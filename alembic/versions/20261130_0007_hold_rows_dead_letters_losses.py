"""hold rows, dead settlements, operator losses, output and server-tool bounds

Holds become rows of their own (with an owner's lease) so that any live instance can book
what a crashed one left in flight; the usage writer sets aside what it cannot book; a cost
beyond what a balance covers is an operator loss, never a negative balance. Prices gain each
model's maximum output (the hold of a request that names none) and server-tool fees.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Most output tokens per model (providers' documented limits; the largest where a beta
# raises it), and web search fees in micro-USD per use (list prices, 2026).
MAX_OUTPUT = {
    "anthropic": {
        "claude-opus-4-5": 64_000,
        "claude-opus-4-1": 32_000,
        "claude-opus-4-0": 32_000,
        "claude-opus-4": 32_000,
        "claude-sonnet-4-5": 64_000,
        "claude-sonnet-4-0": 64_000,
        "claude-sonnet-4": 64_000,
        "claude-3-7-sonnet": 128_000,
        "claude-haiku-4-5": 64_000,
        "claude-3-5-haiku": 8_192,
        "claude-3-haiku": 4_096,
    },
    "openai": {
        "gpt-5": 128_000,
        "gpt-5-mini": 128_000,
        "gpt-5-nano": 128_000,
        "gpt-4.1": 32_768,
        "gpt-4.1-mini": 32_768,
        "gpt-4.1-nano": 32_768,
        "gpt-4o": 16_384,
        "gpt-4o-mini": 16_384,
        "o3": 100_000,
        "o4-mini": 100_000,
    },
}
ANTHROPIC_WEB_SEARCH_MICRO = 10_000  # $10 per 1,000 searches; web fetch has no fee
OPENAI_WEB_SEARCH_MICRO = {
    "gpt-4o": 25_000,
    "gpt-4o-mini": 25_000,
    "gpt-4.1": 25_000,
    "gpt-4.1-mini": 25_000,
}
OPENAI_DEFAULT_WEB_SEARCH_MICRO = 10_000


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("proxy_key_id", sa.Integer(), nullable=False),
        sa.Column("amount_nano", sa.BigInteger(), nullable=False),
        sa.Column("key_amount_nano", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("lease_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("byok", sa.Boolean(), nullable=False),
        sa.Column("request_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    # Only the unique request id is indexed: the table holds requests in flight (scans are
    # cheap) and each index is written twice per request on the proxy's hot path.

    op.create_table(
        "dead_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("resolved_at", aiusage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "operator_losses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("amount_nano", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operator_losses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_losses_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_operator_losses_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("model_prices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_output_tokens", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("web_search_call_micro", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("web_fetch_call_micro", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("web_search_calls", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("web_fetch_calls", sa.Integer(), nullable=False, server_default="0")
        )

    # Holds placed before this version have no rows: nothing is in flight across an upgrade
    # (the app migrates before it serves), so what is left is a crashed proxy's; release it.
    op.execute("UPDATE users SET held_nano = 0 WHERE held_nano != 0")
    op.execute("UPDATE proxy_keys SET held_nano = 0 WHERE held_nano != 0")

    prices = sa.table(
        "model_prices",
        sa.column("provider", sa.String),
        sa.column("model", sa.String),
        sa.column("max_output_tokens", sa.BigInteger),
        sa.column("web_search_call_micro", sa.BigInteger),
        sa.column("web_fetch_call_micro", sa.BigInteger),
    )
    op.execute(
        prices.update()
        .where(prices.c.provider == "anthropic")
        .values(web_search_call_micro=ANTHROPIC_WEB_SEARCH_MICRO, web_fetch_call_micro=0)
    )
    op.execute(
        prices.update()
        .where(prices.c.provider == "openai")
        .values(web_search_call_micro=OPENAI_DEFAULT_WEB_SEARCH_MICRO, web_fetch_call_micro=0)
    )
    for model, micro in OPENAI_WEB_SEARCH_MICRO.items():
        op.execute(
            prices.update()
            .where(prices.c.provider == "openai", prices.c.model == model)
            .values(web_search_call_micro=micro)
        )
    for provider, models in MAX_OUTPUT.items():
        for model, tokens in models.items():
            op.execute(
                prices.update()
                .where(prices.c.provider == provider, prices.c.model == model)
                .values(max_output_tokens=tokens)
            )


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_column("web_fetch_calls")
        batch_op.drop_column("web_search_calls")
    with op.batch_alter_table("model_prices", schema=None) as batch_op:
        batch_op.drop_column("web_fetch_call_micro")
        batch_op.drop_column("web_search_call_micro")
        batch_op.drop_column("max_output_tokens")
    with op.batch_alter_table("operator_losses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_losses_user_id"))
        batch_op.drop_index(batch_op.f("ix_operator_losses_created_at"))
    op.drop_table("operator_losses")
    op.drop_table("dead_settlements")
    op.drop_table("holds")
