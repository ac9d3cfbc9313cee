"""two-factor sign-in (TOTP, backup codes, pending second steps), sessions' last use

`two_factor` keeps each user's TOTP secret sealed (AES-256-GCM, as provider keys are), the
last time step accepted (no code works twice) and a window of wrong codes. `backup_codes`
keeps hashes of single-use codes. `sign_in_challenges` keeps the hash of the short-lived
token of a sign-in waiting for its code. Sessions gain an approximate last-used time for the
list of sessions the owner sees.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "two_factor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enabled_at", aiusage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_since", aiusage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )

    op.create_table(
        "backup_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", aiusage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backup_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_codes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sign_in_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", aiusage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_challenges_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sign_in_challenges_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_used_at", aiusage.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
    with op.batch_alter_table("sign_in_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_challenges_user_id"))
        batch_op.drop_index(batch_op.f("ix_sign_in_challenges_expires_at"))
    op.drop_table("sign_in_challenges")
    with op.batch_alter_table("backup_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_codes_user_id"))
    op.drop_table("backup_codes")
    op.drop_table("two_factor")
