"""Money: prices, the ledger every balance change is written to, operator losses, and Stripe
checkouts and events."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import created_col, fk_col, time_col, utcnow


class ModelPrice(SQLModel, table=True):
    """List prices in micro-USD per million tokens. `model` matches as a prefix."""

    __tablename__ = "model_prices"
    __table_args__ = (sa.UniqueConstraint("provider", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    model: str = Field(sa_column=Column(sa.String(100), nullable=False))
    input_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    output_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_write_5m_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_write_1h_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    cache_read_micro: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    # Some models charge every token of a request at dearer rates once its prompt (input +
    # cache writes + cache reads) is over a threshold: those rates, when the model has them.
    long_prompt_threshold: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_input_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_output_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_write_5m_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_write_1h_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    long_cache_read_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # The most output tokens the model can produce: what a request that names no maximum is
    # held for. Empty: the configured default for unknown models.
    max_output_tokens: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    # Server-side tool fees per use, in micro-USD (Anthropic web search/fetch, OpenAI web
    # search). Empty: the configured default.
    web_search_call_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    web_fetch_call_micro: int | None = Field(default=None, sa_column=Column(sa.BigInteger()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_col())


class LedgerEntry(SQLModel, table=True):
    """Every change of a balance. A user's balance always equals the sum of amount_nano."""

    __tablename__ = "ledger"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    kind: str = Field(sa_column=Column(sa.String(16), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    balance_after_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    description: str = Field(default="", sa_column=Column(sa.String(255), nullable=False))
    # Idempotency for external events (e.g. a Stripe event id): one row per reference.
    reference: str | None = Field(default=None, sa_column=Column(sa.String(128), unique=True))
    # Indexed: the retention purge unlinks the ledger rows of the usage rows it deletes.
    usage_id: int | None = Field(default=None, sa_column=fk_col("usage.id", nullable=True))


class OperatorLoss(SQLModel, table=True):
    """Cost the operator bore: what a request cost beyond what its user's balance covered
    (an upstream surprise past the hold). The user's balance never goes below zero."""

    __tablename__ = "operator_losses"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=time_col(nullable=False, index=True)
    )
    user_id: int = Field(sa_column=Column(sa.Integer(), nullable=False, index=True))
    request_id: str = Field(sa_column=Column(sa.String(40), nullable=False))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    reason: str = Field(sa_column=Column(sa.String(64), nullable=False))


class CheckoutSession(SQLModel, table=True):
    """A Stripe Checkout Session we created for a top-up; credited at most once."""

    __tablename__ = "checkout_sessions"

    id: int | None = Field(default=None, primary_key=True)
    stripe_session_id: str = Field(sa_column=Column(sa.String(255), unique=True, nullable=False))
    user_id: int = Field(sa_column=fk_col("users.id"))
    amount_nano: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    currency: str = Field(default="usd", sa_column=Column(sa.String(8), nullable=False))
    status: str = Field(default="open", sa_column=Column(sa.String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    credited_at: datetime | None = Field(default=None, sa_column=time_col())


class StripeEvent(SQLModel, table=True):
    """Webhook events already handled (by Stripe's event id): each acts exactly once."""

    __tablename__ = "stripe_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(sa_column=Column(sa.String(255), unique=True, nullable=False))
    type: str = Field(sa_column=Column(sa.String(64), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
