"""Account settings a user changes in the dashboard: email (re-verified at the new address),
low-balance alert threshold, marketing-email opt-out."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.models import User, utcnow
from aiusage.models.base import id_of
from aiusage.money import nano_to_usd, parse_dollars, usd_to_nano
from aiusage.services import accounts, email
from aiusage.services.errors import ServiceError
from aiusage.services.security import new_token, token_hash

EMAIL_CHANGE = "email_change"
MAX_THRESHOLD_NANO = usd_to_nano("1000000")


def _change_hash(token: str, new_email: str) -> str:
    # The new address is bound into the stored hash, so the link's address cannot be altered.
    return token_hash(f"{token}\n{new_email}")


async def request_email_change(session: AsyncSession, user: User, new_address: str) -> str:
    """Mails a confirmation link to the NEW address; the account's email changes only when it
    is opened. Returns the normalised new address."""
    new_email = accounts.normalize_email(new_address)
    if new_email == user.email:
        raise ServiceError("email_unchanged", "That is already your email address.")
    if await accounts.get_by_email(session, new_email) is not None:
        raise ServiceError("email_taken", "An account with this email already exists.", status=409)
    settings = get_settings()
    token = new_token()
    accounts.issue_email_token(
        session,
        id_of(user),
        EMAIL_CHANGE,
        timedelta(hours=settings.verification_ttl_hours),
        _change_hash(token, new_email),
    )
    link = f"{settings.site_url}/api/account/confirm-email?" + urlencode(
        {"token": token, "email": new_email}
    )
    await email.enqueue_translated(
        session,
        new_email,
        user.locale,
        "mail.email_change",
        link=link,
        hours=settings.verification_ttl_hours,
        old=user.email,
    )
    return new_email


async def confirm_email_change(session: AsyncSession, token: str, new_address: str) -> User:
    invalid = ServiceError("token_invalid", "This link is invalid or has expired.")
    if not token or len(token) > 200 or not new_address:
        raise invalid
    try:
        new_email = accounts.normalize_email(new_address)
    except ServiceError:
        raise invalid from None
    user = await accounts.consume_email_token(session, _change_hash(token, new_email), EMAIL_CHANGE)
    if await accounts.get_by_email(session, new_email) is not None:
        raise ServiceError("email_taken", "An account with this email already exists.", status=409)
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    await session.flush()
    await email.enqueue_translated(
        session,
        old_email,
        user.locale,
        "mail.email_changed",
        new=new_email,
        contact=get_settings().contact_email,
    )
    return user


def parse_threshold(raw: str) -> int | None:
    """Dollars as typed ('5', '2.50') → nano-USD; blank → None (the default threshold)."""
    return parse_dollars(
        raw, code="bad_threshold", blank=True, cents=True, maximum=nano_to_usd(MAX_THRESHOLD_NANO)
    )


async def set_low_balance_threshold(session: AsyncSession, user_id: int, raw: str) -> int | None:
    nano = parse_threshold(raw)
    # A new threshold re-arms the alert.
    await session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(low_balance_threshold_nano=nano, low_balance_alerted_at=None)
    )
    return nano


async def set_marketing_opt_out(session: AsyncSession, user_id: int, opt_out: bool) -> None:
    await session.execute(
        update(User).where(col(User.id) == user_id).values(marketing_opt_out=bool(opt_out))
    )
