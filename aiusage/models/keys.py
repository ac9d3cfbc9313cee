"""Keys: the proxy keys users hand to their tools, and their own provider keys (sealed)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import created_col, fk_col, money_col, time_col, utcnow


class ProxyKey(SQLModel, table=True):
    """What tools send. Only the SHA-256 of the key is kept, plus a visible prefix."""

    __tablename__ = "proxy_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    name: str = Field(sa_column=Column(sa.String(100), nullable=False))
    prefix: str = Field(sa_column=Column(sa.String(24), nullable=False))
    key_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    last_used_at: datetime | None = Field(default=None, sa_column=time_col())
    revoked_at: datetime | None = Field(default=None, sa_column=time_col())
    spend_limit_nano: int | None = Field(default=None, sa_column=money_col(nullable=True))
    rpm_limit: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    spent_nano: int = Field(default=0, sa_column=money_col())
    # Worst-case cost of this key's requests in flight, so a spend limit holds under load.
    held_nano: int = Field(default=0, sa_column=money_col())
    # What a key may do (issue: keys people can hand out safely). Patterns are comma-separated
    # model names with `*` wildcards; networks comma-separated CIDRs. None: no restriction.
    allowed_models: str | None = Field(default=None, sa_column=Column(sa.String(2000)))
    allowed_networks: str | None = Field(default=None, sa_column=Column(sa.String(2000)))
    tpm_limit: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    expires_at: datetime | None = Field(default=None, sa_column=time_col())
    disabled_at: datetime | None = Field(default=None, sa_column=time_col())
    # A spend cap per day, week or month (UTC: midnight, Monday, the 1st). The period's
    # spend restarts when a hold or a booking finds `period_start_ms` before the current
    # period's start (milliseconds since the epoch: compared on the hot path as integers).
    budget_nano: int | None = Field(default=None, sa_column=money_col(nullable=True))
    budget_period: str | None = Field(default=None, sa_column=Column(sa.String(8)))
    period_start_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    period_spent_nano: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    # Mails at these percentages of the budget (comma-separated; "" for none), each once per
    # period: the highest one mailed, and in which period.
    budget_alerts: str = Field(
        default="50,80,100",
        sa_column=Column(sa.String(32), nullable=False, server_default="50,80,100"),
    )
    budget_alerted_percent: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    budget_alerted_period_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )


class ProviderKey(SQLModel, table=True):
    """A user's own Anthropic/OpenAI key, sealed with AES-256-GCM (see services/crypto.py)."""

    __tablename__ = "provider_keys"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_col("users.id"))
    provider: str = Field(sa_column=Column(sa.String(16), nullable=False))
    master_key_id: str = Field(sa_column=Column(sa.String(32), nullable=False))
    nonce: bytes = Field(sa_column=Column(sa.LargeBinary(12), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))
    last4: str = Field(sa_column=Column(sa.String(4), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    # A pool: the user's keys for one provider are tried by priority (lowest first), by
    # weight among equals. What the proxy learned: consecutive failures, the last error, a
    # cool-down after repeated failures, and the provider's refusal (401) until replaced.
    label: str = Field(
        default="", sa_column=Column(sa.String(64), nullable=False, server_default="")
    )
    priority: int = Field(
        default=1, sa_column=Column(sa.Integer(), nullable=False, server_default="1")
    )
    weight: int = Field(
        default=1, sa_column=Column(sa.Integer(), nullable=False, server_default="1")
    )
    failures: int = Field(
        default=0, sa_column=Column(sa.Integer(), nullable=False, server_default="0")
    )
    last_error: str | None = Field(default=None, sa_column=Column(sa.String(64)))
    unhealthy_until_ms: int = Field(
        default=0, sa_column=Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    invalid_at: datetime | None = Field(default=None, sa_column=time_col())
