"""hourly rollups keep our fee apart from the provider's cost; product news becomes opt-in

`usage_hourly.fee_nano` is the part of `charged_nano` that is ours: the whole charge on the
user's own key (the provider bills its cost to them directly), the markup above the cost on the
platform's key. Existing rollups are filled from the usage rows they summed (retention purges
a rollup with its rows, so every rollup still has them).

`users.marketing_opt_out` defaults to true: nobody receives product news without asking for it.
No existing account ever asked (news was on by default), so every account starts opted out.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_hourly", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fee_nano", sa.BigInteger(), nullable=False, server_default="0")
        )
    # Per rollup row: the fee of the usage rows of its user, key, model and hour. The rows'
    # hour is compared as a range so the statement is the same on SQLite and PostgreSQL.
    op.execute(
        """
        UPDATE usage_hourly SET fee_nano = COALESCE((
            SELECT SUM(CASE WHEN u.key_source = 'byok' THEN u.charged_nano
                            WHEN u.charged_nano > u.cost_nano THEN u.charged_nano - u.cost_nano
                            ELSE 0 END)
            FROM usage u
            WHERE u.user_id = usage_hourly.user_id
              AND COALESCE(u.proxy_key_id, 0) = usage_hourly.proxy_key_id
              AND u.provider = usage_hourly.provider
              AND u.model = usage_hourly.model
              AND u.created_at >= usage_hourly.hour
              AND u.created_at < usage_hourly.hour + INTERVAL_ONE_HOUR
        ), 0)
        """.replace(
            "usage_hourly.hour + INTERVAL_ONE_HOUR",
            "datetime(usage_hourly.hour, '+1 hour')"
            if op.get_bind().dialect.name == "sqlite"
            else "usage_hourly.hour + interval '1 hour'",
        )
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "marketing_opt_out",
            existing_type=sa.Boolean(),
            existing_nullable=False,
            server_default=sa.true(),
        )
    op.execute(sa.text("UPDATE users SET marketing_opt_out = :yes").bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "marketing_opt_out",
            existing_type=sa.Boolean(),
            existing_nullable=False,
            server_default=sa.false(),
        )
    with op.batch_alter_table("usage_hourly", schema=None) as batch_op:
        batch_op.drop_column("fee_nano")
