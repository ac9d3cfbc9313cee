"""the operator's console: roles and suspension on accounts, an append-only audit log,
support messages with a state and replies, and the onsite assistant's conversations

`audit_log` refuses UPDATE and DELETE in the database itself (triggers on SQLite and
PostgreSQL): the log is append-only whatever code runs against it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiusage.models

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = aiusage.models.UTCDateTime(timezone=True)
_APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", _TIME, nullable=True))
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(8), nullable=False, server_default="open")
        )
        batch_op.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="form")
        )
        batch_op.add_column(sa.Column("closed_at", _TIME, nullable=True))

    op.create_table(
        "support_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["support_messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_replies_message_id", "support_replies", ["message_id"])

    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("handed_over_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handle"),
    )
    op.create_index(
        "ix_assistant_conversations_created_at", "assistant_conversations", ["created_at"]
    )
    op.create_index("ix_assistant_conversations_user_id", "assistant_conversations", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id"])

    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{_APPEND_ONLY}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_table("audit_log")  # its SQLite triggers go with it
    op.drop_index("ix_assistant_conversations_user_id", table_name="assistant_conversations")
    op.drop_index("ix_assistant_conversations_created_at", table_name="assistant_conversations")
    op.drop_table("assistant_conversations")
    op.drop_index("ix_support_replies_message_id", table_name="support_replies")
    op.drop_table("support_replies")
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("source")
        batch_op.drop_column("status")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("role")
