"""proxy keys people can hand out safely: model allow-list, networks, tokens per minute,
expiry, disabling, and a spend budget per day, week or month with its alert mails

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proxy_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allowed_models", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("allowed_networks", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("tpm_limit", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", aiusage.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("disabled_at", aiusage.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("budget_nano", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("budget_period", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("period_start_ms", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("period_spent_nano", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "budget_alerts", sa.String(length=32), nullable=False, server_default="50,80,100"
            )
        )
        batch_op.add_column(
            sa.Column("budget_alerted_percent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "budget_alerted_period_ms", sa.BigInteger(), nullable=False, server_default="0"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("proxy_keys", schema=None) as batch_op:
        for column in (
            "budget_alerted_period_ms",
            "budget_alerted_percent",
            "budget_alerts",
            "period_spent_nano",
            "period_start_ms",
            "budget_period",
            "budget_nano",
            "disabled_at",
            "expires_at",
            "tpm_limit",
            "allowed_networks",
            "allowed_models",
        ):
            batch_op.drop_column(column)
