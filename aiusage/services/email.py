"""Email: written to an outbox table in the caller's transaction, sent by a background loop.

Two backends: console (default; prints the mail) and SMTP. A mail is claimed before it is
sent so two app instances never both send it; a failed send is released for a retry."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from email.message import EmailMessage

import anyio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import Settings, get_settings
from aiusage.db import session_scope
from aiusage.models import OutboxEmail, utcnow

log = logging.getLogger("aiusage.email")
MAX_ATTEMPTS = 8


async def enqueue(session: AsyncSession, to: str, subject: str, body: str) -> None:
    session.add(OutboxEmail(to_address=to, subject=subject, body_text=body))


def _message(settings: Settings, mail: OutboxEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message.set_content(mail.body_text)
    return message


def _deliver(settings: Settings, message: EmailMessage) -> None:
    if settings.email_backend == "console":
        print(f"--- email (console backend) ---\n{message}\n--- end of email ---", file=sys.stdout)
        sys.stdout.flush()
        return
    smtp_cls = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    with smtp_cls(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


async def send_pending(limit: int = 50) -> int:
    """Sends what the outbox holds; returns how many were sent."""
    settings = get_settings()
    async with session_scope() as session:
        pending = (
            (
                await session.execute(
                    select(OutboxEmail)
                    .where(OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < MAX_ATTEMPTS)
                    .order_by(OutboxEmail.id)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
    sent = 0
    for mail in pending:
        if not await _claim(mail.id):
            continue  # another instance took it
        try:
            await anyio.to_thread.run_sync(_deliver, settings, _message(settings, mail))
        except Exception as error:  # any delivery failure: keep the mail, try again later
            log.warning("email %s not sent (%s)", mail.id, type(error).__name__)
            await _release(mail.id, type(error).__name__)
        else:
            sent += 1
    return sent


async def _claim(mail_id: int | None) -> bool:
    async with session_scope() as session:
        result = await session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == mail_id, OutboxEmail.sent_at.is_(None))
            .values(sent_at=utcnow(), attempts=OutboxEmail.attempts + 1)
        )
        return result.rowcount == 1


async def _release(mail_id: int | None, error: str) -> None:
    async with session_scope() as session:
        await session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == mail_id)
            .values(sent_at=None, last_error=error[:255])
        )


async def run_sender(stop: asyncio.Event | None = None) -> None:
    """The outbox loop the app runs in the background."""
    interval = get_settings().email_send_interval
    while stop is None or not stop.is_set():
        try:
            await send_pending()
        except Exception:
            log.exception("outbox sender failed; retrying")
        await asyncio.sleep(interval)
