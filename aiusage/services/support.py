"""The dashboard's contact form: the message is stored (kept for the configured support
retention) and mailed to the operator through the outbox, in the same transaction. The
outbox copy has the message's creation time and `operator_subject(message.subject)`: that is
how the purge of a closed account finds it (the outbox keeps no user id)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.i18n import t
from aiusage.models import SupportMessage, User
from aiusage.services import email
from aiusage.services.errors import RateLimited, ServiceError
from aiusage.services.ratelimit import SlidingWindow

SUBJECT_MAX = 200
BODY_MAX = 10_000
# Per account: a handful of messages an hour is plenty for a person, and caps abuse.
per_user = SlidingWindow(5, 3600)


def operator_subject(subject: str) -> str:
    """The subject of the operator's copy of a message with this subject."""
    return t("en", "mail.support.subject", subject=subject)[:255]


async def submit(session: AsyncSession, user: User, subject: str, body: str) -> SupportMessage:
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    if not subject:
        raise ServiceError("support_subject_required", "Give your message a subject.")
    if len(subject) > SUBJECT_MAX:
        raise ServiceError("support_subject_too_long", "The subject is too long.")
    if not body:
        raise ServiceError("support_body_required", "Write your message.")
    if len(body) > BODY_MAX:
        raise ServiceError("support_body_too_long", "The message is too long.")
    wait = per_user.try_hit(str(user.id))
    if wait:
        raise RateLimited("Too many messages. Try again later.", wait)
    message = SupportMessage(user_id=user.id, email=user.email, subject=subject, body=body)
    session.add(message)
    await session.flush()
    await email.enqueue(
        session,
        get_settings().operator_email,
        operator_subject(subject),
        t(
            "en",
            "mail.support.body",
            id=message.id,
            user_id=user.id,
            email=user.email,
            locale=user.locale,
            subject=subject,
            body=body,
        ),
        created_at=message.created_at,
    )
    return message


async def list_messages(
    session: AsyncSession, user_id: int, limit: int = 20
) -> list[SupportMessage]:
    result = await session.execute(
        select(SupportMessage)
        .where(col(SupportMessage.user_id) == user_id)
        .order_by(col(SupportMessage.id).desc())
        .limit(limit)
    )
    return list(result.scalars())
