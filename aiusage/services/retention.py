"""Closing an account and the retention purge.

Closing (the user's "delete account") takes effect at once: sessions end, proxy keys are
revoked (the proxy's key cache forgets them within `key_cache_ttl`), provider keys and other
sign-in methods are destroyed. What personal data is left is purged once the grace period has
passed: the user row is anonymised rather than deleted, so the ledger (accounting records)
keeps its owner and its sums.

The purge deletes usage metadata (and its hourly rollups) older than the usage retention,
support messages older than theirs (with the operators' replies to them), and anonymises
closed accounts past their grace. In the mail outbox it empties the bodies the sender no
longer needs (sent, finally failed, or unsent past the longest link lifetime: they may hold
one-off links) and deletes the rows older than the shorter of the usage and support
retentions (the mail log is usage metadata, and a support message's copy to the operator
must not outlive the message). A purged account loses its support messages (by user id)
with their replies, and the mail sent to its address. It is idempotent and works in small
batches, each its own short transaction under `write_lock()`, so the proxy's usage writer
is never locked out for long. On SQLite what it deletes is zeroed in the file, and the
write-ahead log is checkpointed and truncated at the end.

The onsite assistant's conversations go with the support messages: purged at the support
retention, and with a purged account."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import session_scope, write_lock
from aiusage.models import (
    AssistantConversation,
    EmailToken,
    LedgerEntry,
    OutboxEmail,
    ProviderKey,
    ProxyKey,
    SupportMessage,
    SupportReply,
    UsageDaily,
    UsageHourly,
    UsageRecord,
    User,
    UserIdentity,
    UserSession,
    utcnow,
)
from aiusage.models.base import id_of
from aiusage.services import email, key_events, sessions, support, twofactor
from aiusage.services.errors import ServiceError

log = logging.getLogger("aiusage.retention")

BATCH_SIZE = 1000
DAY_SECONDS = 86_400
FIRST_RUN_DELAY_SECONDS = 300  # let the app settle after a start before the first purge


def anonymous_email(user_id: int) -> str:
    return f"deleted-{user_id}@invalid"


# --- closing an account -------------------------------------------------------------------


async def close_account(session: AsyncSession, user: User, confirm_email: str) -> datetime:
    """Closes the account if `confirm_email` is its address; returns when it will be purged.

    At once: every session ends, every proxy key is revoked, provider keys and linked sign-in
    identities are deleted, pending one-off links die, auto top-up stops."""
    if (confirm_email or "").strip().lower() != user.email.lower():
        raise ServiceError(
            "delete_confirm_mismatch", "Type your account's email address to confirm."
        )
    if user.closed_at is not None:
        raise ServiceError("signed_out", "Sign in again.", status=401)
    now = utcnow()
    purge_after = now + timedelta(days=get_settings().closed_account_grace_days)
    await session.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(
            closed_at=now,
            purge_after=purge_after,
            auto_topup_enabled=False,
            marketing_opt_out=True,
        )
    )
    await sessions.end_all_sessions(session, id_of(user))
    await session.execute(
        update(ProxyKey)
        .where(col(ProxyKey.user_id) == user.id, col(ProxyKey.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    await session.execute(delete(ProviderKey).where(col(ProviderKey.user_id) == user.id))
    key_events.changed(session, id_of(user))
    await session.execute(delete(UserIdentity).where(col(UserIdentity.user_id) == user.id))
    await session.execute(delete(EmailToken).where(col(EmailToken.user_id) == user.id))
    await twofactor.forget(session, id_of(user))  # the TOTP secret, backup codes, pending sign-ins
    settings = get_settings()
    await email.enqueue_translated(
        session,
        user.email,
        user.locale,
        "mail.closed",
        days=settings.closed_account_grace_days,
        date=purge_after.date().isoformat(),
        contact=settings.contact_email,
    )
    return purge_after


# --- the purge ----------------------------------------------------------------------------


@dataclass
class PurgeReport:
    usage: int = 0
    usage_hourly: int = 0
    usage_daily: int = 0
    accounts: int = 0
    support_messages: int = 0
    assistant_conversations: int = 0
    mail_bodies: int = 0
    mail: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def _pause() -> None:
    # Between batches: let the proxy's usage writer and the dashboard take the lock.
    await asyncio.sleep(0.01)


async def _delete_usage(ids: list[int], session: AsyncSession) -> None:
    """Deletes usage rows; their ledger rows stay (accounting) and only lose the link."""
    users = (
        (
            await session.execute(
                select(col(UsageRecord.user_id)).where(col(UsageRecord.id).in_(ids))
            )
        )
        .scalars()
        .unique()
        .all()
    )
    await session.execute(
        update(LedgerEntry)
        .where(col(LedgerEntry.user_id).in_(users), col(LedgerEntry.usage_id).in_(ids))
        .values(usage_id=None)
    )
    await session.execute(delete(UsageRecord).where(col(UsageRecord.id).in_(ids)))


async def purge_usage(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes usage rows created before `before`, a batch per transaction."""
    total = 0
    while True:
        async with write_lock(), email.erasing_session() as session:
            ids = cast(
                "list[int]",  # primary keys: never NULL
                list(
                    (
                        await session.execute(
                            select(col(UsageRecord.id))
                            .where(col(UsageRecord.created_at) < before)
                            .order_by(col(UsageRecord.created_at))
                            .limit(batch_size)
                        )
                    ).scalars()
                ),
            )
            if ids:
                await _delete_usage(ids, session)
        total += len(ids)
        if len(ids) < batch_size:
            return total
        await _pause()


async def _purge_by_id(
    model: Any,  # a table model with an integer primary key `id`
    condition: ColumnElement[bool],
    batch_size: int,
    values: dict[str, Any] | None = None,
    dependents: Callable[[list[int], AsyncSession], Awaitable[None]] | None = None,
) -> int:
    """Deletes the rows matching `condition` (or, given `values`, updates them), a batch per
    transaction; returns how many. `dependents` deletes, first and in the same transaction,
    the rows that refer to a batch (a foreign key would refuse the delete otherwise)."""
    total = 0
    while True:
        async with write_lock(), email.erasing_session() as session:
            ids = list(
                (
                    await session.execute(
                        select(model.id).where(condition).order_by(model.id).limit(batch_size)
                    )
                ).scalars()
            )
            if ids and values is None:
                if dependents is not None:
                    await dependents(ids, session)
                await session.execute(delete(model).where(model.id.in_(ids)))
            elif ids and values is not None:
                await session.execute(update(model).where(model.id.in_(ids)).values(values))
        total += len(ids)
        if len(ids) < batch_size:
            return total
        await _pause()


def rollup_cutoff(before: datetime) -> datetime:
    """The UTC midnight up to which the rollups are purged for a cut-off `before`: whole
    UTC days, so the hourly rollups and the daily ones of phase 0 hold the same hours (the
    queries read no daily period starting within a day of the retention period's start:
    services/usage.py _horizon). The rollups of the day `before` falls in are kept until the
    next day's purge."""
    return (before - timedelta(hours=1)).replace(hour=0, minute=0, second=0, microsecond=0)


async def purge_usage_hourly(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes hourly rollups of the whole UTC days that ended before `before`."""
    return await _purge_by_id(
        UsageHourly, col(UsageHourly.hour) < rollup_cutoff(before), batch_size
    )


async def purge_usage_daily(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes the daily rollups of the periods starting before purge_usage_hourly's cut-off."""
    return await _purge_by_id(UsageDaily, col(UsageDaily.day) < rollup_cutoff(before), batch_size)


async def _delete_replies(message_ids: list[int], session: AsyncSession) -> None:
    """The operators' replies to these messages: support content, kept no longer than the
    message they answer."""
    await session.execute(delete(SupportReply).where(col(SupportReply.message_id).in_(message_ids)))


async def purge_support_messages(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes support messages created before `before`, and their replies."""
    return await _purge_by_id(
        SupportMessage,
        col(SupportMessage.created_at) < before,
        batch_size,
        dependents=_delete_replies,
    )


async def purge_assistant_conversations(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """The onsite assistant's conversations started before `before` (the support retention:
    a conversation is support material, and may become a support message)."""
    return await _purge_by_id(
        AssistantConversation, col(AssistantConversation.created_at) < before, batch_size
    )


async def purge_mail_bodies(expired_before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Empties the bodies the sender will not send: of mail sent (by an earlier version, which
    kept them), finally failed, or unsent since before `expired_before` (the links in it are
    dead; the sender skips such mail and the row says "expired")."""
    unsent_expired = and_(
        col(OutboxEmail.sent_at).is_(None), col(OutboxEmail.created_at) < expired_before
    )
    return await _purge_by_id(
        OutboxEmail,
        and_(
            col(OutboxEmail.body_text) != "",
            or_(
                col(OutboxEmail.sent_at).is_not(None),
                col(OutboxEmail.attempts) >= email.MAX_ATTEMPTS,
                col(OutboxEmail.created_at) < expired_before,
            ),
        ),
        batch_size,
        values={
            "body_text": "",
            "last_error": case(
                (and_(unsent_expired, col(OutboxEmail.last_error).is_(None)), "expired"),
                else_=col(OutboxEmail.last_error),
            ),
        },
    )


async def purge_mail(before: datetime, *, batch_size: int = BATCH_SIZE) -> int:
    """Deletes outbox rows (sent or not) created before `before`."""
    return await _purge_by_id(OutboxEmail, col(OutboxEmail.created_at) < before, batch_size)


async def _delete_support_copies(user_id: int, session: AsyncSession) -> None:
    """Deletes the outbox copies of the user's support messages (mailed to the operator, so
    not found by the user's address): a copy has its message's time and subject."""
    messages = (
        await session.execute(
            select(col(SupportMessage.created_at), col(SupportMessage.subject)).where(
                col(SupportMessage.user_id) == user_id
            )
        )
    ).all()
    for created_at, subject in messages:
        await session.execute(
            delete(OutboxEmail).where(
                col(OutboxEmail.created_at) == created_at,
                col(OutboxEmail.subject) == support.operator_subject(subject),
            )
        )


async def anonymise_account(user_id: int, *, batch_size: int = BATCH_SIZE) -> bool:
    """Removes a closed account's personal data; the user row and its ledger stay, with the
    email replaced by deleted-<id>@invalid. Returns False if there was nothing to do."""
    async with session_scope() as session:
        user = await session.get(User, user_id)
        if user is None or user.closed_at is None or user.purge_after is None:
            return False
        old_email, created_at = user.email, user.created_at
    # The usage metadata first (batched: there may be a lot of it), then everything else.
    while True:
        async with write_lock(), email.erasing_session() as session:
            ids = cast(
                "list[int]",  # primary keys: never NULL
                list(
                    (
                        await session.execute(
                            select(col(UsageRecord.id))
                            .where(col(UsageRecord.user_id) == user_id)
                            .order_by(col(UsageRecord.id))
                            .limit(batch_size)
                        )
                    ).scalars()
                ),
            )
            if ids:
                await _delete_usage(ids, session)
        if len(ids) < batch_size:
            break
        await _pause()
    await _purge_by_id(UsageHourly, col(UsageHourly.user_id) == user_id, batch_size)
    await _purge_by_id(UsageDaily, col(UsageDaily.user_id) == user_id, batch_size)
    async with write_lock(), email.erasing_session() as session:
        await _delete_support_copies(user_id, session)
    # By user id: the address may have been another account's before (an email change).
    await _purge_by_id(
        SupportMessage,
        col(SupportMessage.user_id) == user_id,
        batch_size,
        dependents=_delete_replies,
    )
    await _purge_by_id(
        AssistantConversation, col(AssistantConversation.user_id) == user_id, batch_size
    )
    async with write_lock(), email.erasing_session() as session:
        await session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id))
        await session.execute(delete(EmailToken).where(col(EmailToken.user_id) == user_id))
        await session.execute(delete(UserIdentity).where(col(UserIdentity.user_id) == user_id))
        await twofactor.forget(session, user_id)
        await session.execute(delete(ProviderKey).where(col(ProviderKey.user_id) == user_id))
        await session.execute(delete(ProxyKey).where(col(ProxyKey.user_id) == user_id))
        # Mail to the address since the account exists; older mail to it was someone else's.
        await session.execute(
            delete(OutboxEmail).where(
                col(OutboxEmail.to_address) == old_email, col(OutboxEmail.created_at) >= created_at
            )
        )
        await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(
                email=anonymous_email(user_id),
                password_hash=None,
                email_verified_at=None,
                purge_after=None,
                marketing_opt_out=True,
                stripe_customer_id=None,
                stripe_payment_method_id=None,
                card_brand=None,
                card_last4=None,
                low_balance_threshold_nano=None,
                low_balance_alerted_at=None,
                auto_topup_enabled=False,
                auto_topup_below_nano=None,
                auto_topup_amount_nano=None,
                auto_topup_last_at=None,
            )
        )
    return True


async def due_accounts(now: datetime) -> list[int]:
    async with session_scope() as session:
        return cast(  # primary keys: never NULL
            "list[int]",
            list(
                (
                    await session.execute(
                        select(col(User.id))
                        .where(
                            col(User.purge_after).is_not(None),
                            col(User.purge_after) <= now,
                            col(User.closed_at).is_not(None),
                        )
                        .order_by(col(User.id))
                    )
                ).scalars()
            ),
        )


async def purge(
    *,
    now: datetime | None = None,
    usage_before: datetime | None = None,
    support_before: datetime | None = None,
    mail_before: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> PurgeReport:
    """One full retention pass. Cut-offs default to now minus the configured periods; the
    mail log's to the later of the usage and support cut-offs."""
    settings = get_settings()
    now = now or utcnow()
    usage_before = usage_before or now - timedelta(days=settings.usage_retention_days)
    support_before = support_before or now - timedelta(days=settings.support_retention_days)
    mail_before = mail_before or max(usage_before, support_before)
    report = PurgeReport()
    try:
        report.usage = await purge_usage(usage_before, batch_size=batch_size)
        report.usage_hourly = await purge_usage_hourly(usage_before, batch_size=batch_size)
        report.usage_daily = await purge_usage_daily(usage_before, batch_size=batch_size)
        report.support_messages = await purge_support_messages(
            support_before, batch_size=batch_size
        )
        report.assistant_conversations = await purge_assistant_conversations(
            support_before, batch_size=batch_size
        )
        report.mail_bodies = await purge_mail_bodies(
            now - email.link_lifetime(settings), batch_size=batch_size
        )
        report.mail = await purge_mail(mail_before, batch_size=batch_size)
        for user_id in await due_accounts(now):
            report.accounts += await anonymise_account(user_id, batch_size=batch_size)
    finally:
        await email.checkpoint_log()
    return report


async def run_daily(stop: asyncio.Event) -> None:
    """The in-app job: a purge shortly after start, then once a day, until `stop` is set."""
    delay = FIRST_RUN_DELAY_SECONDS
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return
        delay = DAY_SECONDS
        try:
            report = await purge()
            log.info("retention purge: %s", report.as_dict())
        except Exception:  # keep the job alive; the next day retries
            log.exception("retention purge failed")
