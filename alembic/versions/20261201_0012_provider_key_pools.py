"""provider key pools: several keys per user and provider, in order, with their health;
usage rows name the provider key that served them

`provider_keys` loses its one-key-per-provider constraint (the table is copied: SQLite cannot
drop an unnamed constraint in place) and gains a label, a priority and a weight, and what the
proxy learned about the key: consecutive failures, the last error, a cool-down end after
repeated failures, and when the provider refused it (401) — until the key is replaced.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPIED = (
    "id, user_id, provider, master_key_id, nonce, ciphertext, last4, created_at, updated_at"
)


def _provider_keys(name: str, *, pooled: bool) -> None:
    extra: list[sa.SchemaItem] = (
        [
            sa.Column("label", sa.String(length=64), nullable=False, server_default=""),
            sa.Column("priority", sa.Integer(), nullable=False, server_default="1"),
            sa.Column("weight", sa.Integer(), nullable=False, server_default="1"),
            sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
            sa.Column("last_error", sa.String(length=64), nullable=True),
            sa.Column("unhealthy_until_ms", sa.BigInteger(), nullable=False, server_default="0"),
            sa.Column("invalid_at", aiusage.models.UTCDateTime(timezone=True), nullable=True),
        ]
        if pooled
        else [sa.UniqueConstraint("user_id", "provider")]
    )
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        *extra,
    )


def _replace(*, pooled: bool) -> None:
    _provider_keys("provider_keys_new", pooled=pooled)
    if pooled:
        op.execute(f"INSERT INTO provider_keys_new ({_COPIED}) SELECT {_COPIED} FROM provider_keys")
    else:  # back to one key per provider: the first in order survives
        op.execute(
            f"INSERT INTO provider_keys_new ({_COPIED}) SELECT {_COPIED} FROM provider_keys p"
            " WHERE p.id = (SELECT q.id FROM provider_keys q WHERE q.user_id = p.user_id"
            " AND q.provider = p.provider ORDER BY q.priority, q.id LIMIT 1)"
        )
    op.drop_index("ix_provider_keys_user_id", table_name="provider_keys")
    op.drop_table("provider_keys")
    op.rename_table("provider_keys_new", "provider_keys")
    op.create_index("ix_provider_keys_user_id", "provider_keys", ["user_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # ids go on from the copied ones
        op.execute(
            "SELECT setval(pg_get_serial_sequence('provider_keys', 'id'),"
            " COALESCE((SELECT MAX(id) FROM provider_keys), 0) + 1, false)"
        )


def upgrade() -> None:
    _replace(pooled=True)
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_key_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_key_last4", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("provider_key_label", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_column("provider_key_label")
        batch_op.drop_column("provider_key_last4")
        batch_op.drop_column("provider_key_id")
    _replace(pooled=False)
