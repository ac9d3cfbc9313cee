"""The console's support inbox: the users' messages with the replies so far, a reply by
email, and a message's state (open or closed).

A reply is support content: it is stored as a `SupportReply` (kept, like its message, for the
support retention, and purged with it) and mailed to the user through the outbox in their
language. The audit log, which is kept longer than the support retention, records that a
reply was sent (the reply's id and length), never what it said.

Both console roles may read, reply and close (`support` permission); every change checks
the operator's role itself and writes its audit entry in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.i18n import LANGUAGES
from aiusage.models import SupportMessage, SupportReply, User, utcnow
from aiusage.models.base import id_of
from aiusage.services import audit, email
from aiusage.services.errors import ServiceError
from aiusage.services.roles import Operator
from aiusage.services.text import checked_text

OPEN = "open"
CLOSED = "closed"
ALL = "all"
FILTERS = (OPEN, CLOSED, ALL)
PAGE_SIZE = 50
# A reply is a person's answer, not a document: the same bound as the user's message.
REPLY_MAX = 10_000
MAIL_KEY = "mail.support_reply"


@dataclass(frozen=True)
class ReplyView:
    id: int
    created_at: datetime
    author: str  # the operator's address now, or "" if their account is gone
    body: str


@dataclass(frozen=True)
class MessageView:
    id: int
    user_id: int | None
    email: str  # the address the message came from
    locale: str  # the language replies are mailed in
    subject: str
    body: str
    source: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    replies: list[ReplyView]


def _status_filter(status: str) -> str:
    if status not in FILTERS:
        raise ServiceError("support_bad_filter", "Show open, closed or all messages.")
    return status


async def messages(
    db: AsyncSession,
    actor: Operator,
    status: str = OPEN,
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[MessageView]:
    """The messages (newest first, `limit` at most, older than `before_id`), each with its
    replies (oldest first) and the sender's language."""
    actor.require("support")
    status = _status_filter(status)
    statement = (
        sa.select(SupportMessage, col(User.locale))
        .outerjoin(User, col(User.id) == col(SupportMessage.user_id))
        .order_by(col(SupportMessage.id).desc())
        .limit(max(1, min(limit, 200)))
    )
    if status != ALL:
        statement = statement.where(col(SupportMessage.status) == status)
    if before_id is not None:
        statement = statement.where(col(SupportMessage.id) < before_id)
    rows = (await db.execute(statement)).all()
    ids = [message.id for message, _ in rows]
    replies: dict[int, list[ReplyView]] = defaultdict(list)
    if ids:
        author = aliased(User)
        found = await db.execute(
            sa.select(SupportReply, col(author.email))
            .outerjoin(author, col(author.id) == col(SupportReply.author_id))
            .where(col(SupportReply.message_id).in_(ids))
            .order_by(col(SupportReply.id))
        )
        for reply, author_email in found.all():
            replies[reply.message_id].append(
                ReplyView(reply.id or 0, reply.created_at, author_email or "", reply.body)
            )
    return [
        MessageView(
            id=message.id or 0,
            user_id=message.user_id,
            email=message.email,
            locale=locale if locale in LANGUAGES else "en",
            subject=message.subject,
            body=message.body,
            source=message.source,
            status=message.status,
            created_at=message.created_at,
            closed_at=message.closed_at,
            replies=replies.get(message.id or 0, []),
        )
        for message, locale in rows
    ]


async def _message(db: AsyncSession, message_id: int) -> SupportMessage:
    # An id no row can have (a database integer is 64 bits) is simply not found.
    ok = isinstance(message_id, int) and 0 < message_id < 2**63
    message = await db.get(SupportMessage, message_id) if ok else None
    if message is None:
        raise ServiceError("support_message_not_found", "There is no such message.", status=404)
    return message


def reply_text(value: object) -> str:
    """The operator's reply as it is stored and mailed: plain text, stripped, bounded, with
    nothing the database or a mail cannot carry (a NUL, a lone surrogate)."""
    if isinstance(value, str) and len(value) > REPLY_MAX and len(value.strip()) > REPLY_MAX:
        raise ServiceError("support_reply_too_long", f"Use at most {REPLY_MAX} characters.")
    text = checked_text(value, code="support_reply_invalid", max_chars=REPLY_MAX, multiline=True)
    if not text:
        raise ServiceError("support_reply_required", "Write your reply.")
    return text


async def reply(db: AsyncSession, actor: Operator, message_id: int, body: object) -> SupportReply:
    """Answers a message: the reply is stored, mailed to the sender (in their language, with
    "Re: <subject>") and recorded in the audit log (its id and length, not its text). The
    message's state stays as it is: closing is a separate decision."""
    actor.require("support")
    text = reply_text(body)
    message = await _message(db, message_id)
    user = await db.get(User, message.user_id) if message.user_id is not None else None
    # The account's address now (it may have changed since it wrote), else the message's.
    to = user.email if user is not None else message.email
    lang = user.locale if user is not None and user.locale in LANGUAGES else "en"
    saved = SupportReply(message_id=id_of(message), author_id=id_of(actor), body=text)
    db.add(saved)
    await db.flush()
    await email.enqueue_translated(
        db,
        to,
        lang,
        MAIL_KEY,
        # One line: a subject is a mail header.
        subject=" ".join(message.subject.split())[:200],
        reply=text,
        link=f"{get_settings().site_url}/dashboard/support",
    )
    await audit.record(
        db,
        actor,
        "support.reply",
        "support_message",
        message.id,
        before={"status": message.status},
        after={"status": message.status, "reply_id": saved.id, "length": len(text)},
    )
    return saved


async def set_closed(db: AsyncSession, actor: Operator, message_id: int, closed: bool) -> bool:
    """Closes (or reopens) a message; False if it already was (two operators clicking at
    once change it, and write the audit entry, once)."""
    actor.require("support")
    message = await _message(db, message_id)
    # What it was when the update below found it not yet `target`.
    before = {"status": OPEN if closed else CLOSED, "closed_at": message.closed_at}
    target, closed_at = (CLOSED, utcnow()) if closed else (OPEN, None)
    changed = await db.execute(
        sa.update(SupportMessage)
        .where(col(SupportMessage.id) == message.id, col(SupportMessage.status) != target)
        .values(status=target, closed_at=closed_at)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        return False
    await db.refresh(message)
    await audit.record(
        db,
        actor,
        "support.close" if closed else "support.reopen",
        "support_message",
        message.id,
        before=before,
        after={"status": message.status, "closed_at": message.closed_at},
    )
    return True
