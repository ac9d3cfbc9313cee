"""The operator's audit log: every change made through the console or the CLI.

Append-only: no route or command edits or deletes a row, and the database refuses it too
(triggers created by migration 0014)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import time_col, utcnow


class AuditEntry(SQLModel, table=True):
    """Who changed what, when, from what to what, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=time_col(nullable=False, index=True)
    )
    # The operator's account id (none for the CLI) and how they were known at the time: the
    # log outlives accounts, so no foreign key.
    actor_id: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    actor: str = Field(sa_column=Column(sa.String(320), nullable=False))
    action: str = Field(sa_column=Column(sa.String(64), nullable=False, index=True))
    target_type: str = Field(sa_column=Column(sa.String(32), nullable=False))
    target_id: str = Field(sa_column=Column(sa.String(128), nullable=False))
    reason: str = Field(default="", sa_column=Column(sa.String(500), nullable=False))
    # JSON objects of the fields the action changed (secrets never: a key shows its last four).
    before: str = Field(default="{}", sa_column=Column(sa.Text(), nullable=False))
    after: str = Field(default="{}", sa_column=Column(sa.Text(), nullable=False))
