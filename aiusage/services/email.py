"""Email: written to an outbox table in the caller's transaction, sent by a background loop.

Two backends: console (default; prints the mail) and SMTP. A mail is claimed before it is
sent so two app instances never both send it; a failed send is released for a retry.

A mail's body may hold a one-off link (email verification, password reset), which is as good
as the account for whoever reads it. So the body is kept only while the mail may still be
sent: claiming a mail (which marks it sent) empties its body in the same transaction; a
failed attempt puts it back for the retry, unless that was the last attempt. A mail left
unsent longer than the longest link lifetime is not sent any more (its links are dead); the
retention purge empties its body. Recipient, subject, times, attempts and the last error
stay, as the record of what was mailed, until the retention purge deletes the row.

On SQLite an emptied body would linger in the page's free space and in the write-ahead log:
the emptying transaction zeroes freed space (`secure_delete`), and a checkpoint afterwards
copies the pages into the database file and truncates the log."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage

import anyio
from sqlalchemy import case, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import Settings, get_settings
from aiusage.db import get_engine, rowcount, session_scope, write_lock
from aiusage.i18n import t
from aiusage.models import OutboxEmail, utcnow

log = logging.getLogger("aiusage.email")
MAX_ATTEMPTS = 8
# How long the log checkpoint may wait for other connections (it blocks writers meanwhile);
# when they are busy for longer it gives up and the next round tries again.
CHECKPOINT_BUSY_MS = 250


async def enqueue(
    session: AsyncSession,
    to: str,
    subject: str,
    body: str,
    *,
    created_at: datetime | None = None,
) -> None:
    mail = OutboxEmail(to_address=to, subject=subject, body_text=body)
    if created_at is not None:
        mail.created_at = created_at
    session.add(mail)


async def enqueue_translated(
    session: AsyncSession, to: str, lang: str, key: str, **values: object
) -> None:
    """The mail `key` in `lang`: its catalog entries `<key>.subject` and `<key>.body`, each
    filled with `values`."""
    await enqueue(
        session, to, t(lang, f"{key}.subject", **values), t(lang, f"{key}.body", **values)
    )


def link_lifetime(settings: Settings) -> timedelta:
    """The longest a link sent by mail stays valid; an older unsent mail is of no use."""
    return max(
        timedelta(hours=settings.verification_ttl_hours),
        timedelta(minutes=settings.reset_ttl_minutes),
    )


# --- erasing on SQLite --------------------------------------------------------------------

_log_holds_erased = False  # an erased body may still be in SQLite's write-ahead log


@asynccontextmanager
async def erasing_session() -> AsyncIterator[AsyncSession]:
    """`session_scope()` whose updates and deletes also erase what they replace: on SQLite the
    freed space is zeroed (`secure_delete`), and `checkpoint_log()` then clears the log. Run
    statements (not only `session.add`) in it: they are what erases."""
    global _log_holds_erased
    sqlite = get_settings().is_sqlite
    async with session_scope() as session:
        if sqlite:
            before = (await session.execute(text("PRAGMA secure_delete"))).scalar_one()
            await session.execute(text("PRAGMA secure_delete = ON"))
        yield session
        if sqlite:
            await session.flush()
            # The connection goes back to the pool as it came.
            await session.execute(text(f"PRAGMA secure_delete = {int(before)}"))
    if sqlite:
        _log_holds_erased = True


async def checkpoint_log() -> bool:
    """On SQLite, after an `erasing_session()`: copies the log into the database file and
    truncates it, so the erased data is in neither. True when done (or nothing to do); when
    other connections kept it from finishing, the next call tries again."""
    global _log_holds_erased
    if not (get_settings().is_sqlite and _log_holds_erased):
        return True
    _log_holds_erased = False  # an erasing commit from now on asks for another checkpoint
    busy = 1
    try:
        async with write_lock(), get_engine().connect() as conn:
            timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
            await conn.exec_driver_sql(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
            try:
                busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()[0]
            finally:
                await conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout)}")
    except OperationalError as error:  # locked: later
        log.info("log checkpoint postponed (%s)", error.orig)
    if busy:
        _log_holds_erased = True
        return False
    return True


# --- sending ------------------------------------------------------------------------------


def _message(settings: Settings, mail: OutboxEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message.set_content(mail.body_text)
    return message


def _deliver(settings: Settings, message: EmailMessage) -> None:
    if settings.email_backend == "console":
        # Decoded, as a person reads it: the encoded form breaks long links across lines.
        head = "".join(f"{name}: {value}\n" for name, value in message.items())
        text = message.get_content()
        print(f"--- email (console backend) ---\n{head}\n{text}--- end of email ---")
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
    oldest = utcnow() - link_lifetime(settings)
    async with session_scope() as session:
        pending = (
            (
                await session.execute(
                    select(OutboxEmail)
                    .where(
                        col(OutboxEmail.sent_at).is_(None),
                        col(OutboxEmail.attempts) < MAX_ATTEMPTS,
                        col(OutboxEmail.body_text) != "",
                        col(OutboxEmail.created_at) >= oldest,
                    )
                    .order_by(col(OutboxEmail.id))
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
            await _release(mail, type(error).__name__)
        else:
            sent += 1
    await checkpoint_log()
    return sent


async def _claim(mail_id: int | None) -> bool:
    """Marks the mail sent and empties its body (the caller holds a copy to send)."""
    async with erasing_session() as session:
        result = await session.execute(
            update(OutboxEmail)
            .where(
                col(OutboxEmail.id) == mail_id,
                col(OutboxEmail.sent_at).is_(None),
                col(OutboxEmail.body_text) != "",  # emptied by the purge: too old to send
            )
            .values(sent_at=utcnow(), attempts=col(OutboxEmail.attempts) + 1, body_text="")
        )
        return rowcount(result) == 1


async def _release(mail: OutboxEmail, error: str) -> None:
    """Unmarks a mail whose sending failed: its body comes back for the next attempt,
    unless this was the last one."""
    async with session_scope() as session:
        await session.execute(
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == mail.id)
            .values(
                sent_at=None,
                last_error=error[:255],
                body_text=case(
                    (col(OutboxEmail.attempts) >= MAX_ATTEMPTS, ""), else_=mail.body_text
                ),
            )
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
