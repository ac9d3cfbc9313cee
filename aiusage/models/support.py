"""Support: messages (from the contact form or handed over by the onsite assistant), the
operators' replies, and the assistant's conversations — all kept for the support retention."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from aiusage.models.base import created_col, fk_col, time_col, utcnow


class SupportMessage(SQLModel, table=True):
    """A message from the dashboard's contact form (kept for the configured retention)."""

    __tablename__ = "support_messages"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, sa_column=fk_col("users.id", nullable=True))
    email: str = Field(sa_column=Column(sa.String(320), nullable=False))
    subject: str = Field(sa_column=Column(sa.String(200), nullable=False))
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=time_col(nullable=False, index=True)
    )
    # The inbox's state: "open" until an operator closes it (a reply does not close it).
    status: str = Field(
        default="open", sa_column=Column(sa.String(8), nullable=False, server_default="open")
    )
    # "form" (the dashboard's contact form) or "assistant" (a conversation handed over).
    source: str = Field(
        default="form", sa_column=Column(sa.String(16), nullable=False, server_default="form")
    )
    closed_at: datetime | None = Field(default=None, sa_column=time_col())


class SupportReply(SQLModel, table=True):
    """An operator's answer to a message, mailed to the user through the outbox."""

    __tablename__ = "support_replies"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=fk_col("support_messages.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    # The operator's account (no foreign key: an operator's account may be closed later).
    author_id: int | None = Field(default=None, sa_column=Column(sa.Integer()))
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))


class AssistantConversation(SQLModel, table=True):
    """A conversation with the onsite assistant: the turns as JSON ([{"role", "text"}]).
    Anonymous visitors' conversations have no user."""

    __tablename__ = "assistant_conversations"

    id: int | None = Field(default=None, primary_key=True)
    # A random handle the browser holds, so a visitor can continue only their own conversation.
    handle: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    user_id: int | None = Field(default=None, sa_column=fk_col("users.id", nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=time_col(nullable=False, index=True)
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_col())
    transcript: str = Field(default="[]", sa_column=Column(sa.Text(), nullable=False))
    handed_over_message_id: int | None = Field(default=None, sa_column=Column(sa.Integer()))
