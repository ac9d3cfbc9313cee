"""holds keyed by their request id (one B-tree on SQLite)

A hold row is written and deleted once per proxied request. Keyed by a surrogate id with a
unique index on `request_id`, each write touches two B-trees; keyed by `request_id` (and,
on SQLite, stored WITHOUT ROWID) it touches one. Measured with `python -m bench.holds`.
Rows in flight during the upgrade are copied, so their balance holds stay matched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "request_id, user_id, proxy_key_id, amount_nano, key_amount_nano, owner, lease_until_ms,"
    " started_ms, provider, endpoint, model, byok, request_bytes"
)


def _holds_table(name: str, *, keyed_by_request: bool) -> None:
    key: list[sa.SchemaItem] = (
        [sa.PrimaryKeyConstraint("request_id")]
        if keyed_by_request
        else [sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("request_id")]
    )
    op.create_table(
        name,
        *([] if keyed_by_request else [sa.Column("id", sa.Integer(), nullable=False)]),
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
        *key,
        **({"sqlite_with_rowid": False} if keyed_by_request else {}),
    )


def _replace_holds(*, keyed_by_request: bool) -> None:
    _holds_table("holds_new", keyed_by_request=keyed_by_request)
    op.execute(f"INSERT INTO holds_new ({_COLUMNS}) SELECT {_COLUMNS} FROM holds")
    op.drop_table("holds")
    op.rename_table("holds_new", "holds")


def upgrade() -> None:
    _replace_holds(keyed_by_request=True)


def downgrade() -> None:
    _replace_holds(keyed_by_request=False)
