"""Accounts: sign-up, email verification, log-in checks, password reset and change."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import rowcount
from aiusage.i18n import DEFAULT as DEFAULT_LANGUAGE
from aiusage.i18n import LANGUAGES
from aiusage.models import EmailToken, User, UserSession, utcnow
from aiusage.models.base import id_of
from aiusage.services import email
from aiusage.services.errors import ServiceError
from aiusage.services.security import hash_password, new_token, token_hash, verify_password

EMAIL_MAX = 254
PASSWORD_MIN = 8
PASSWORD_MAX = 256
_EMAIL_RE = re.compile(
    r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)

VERIFY = "verify"
RESET = "reset"


def normalize_email(raw: str) -> str:
    value = (raw or "").strip()
    if not value:
        raise ServiceError("email_required", "Enter your email address.")
    if len(value) > EMAIL_MAX or not _EMAIL_RE.match(value):
        raise ServiceError("email_invalid", "That does not look like an email address.")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def check_password(password: str) -> None:
    if not password:
        raise ServiceError("password_required", "Enter a password.")
    if len(password) < PASSWORD_MIN:
        raise ServiceError("password_too_short", f"Use at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise ServiceError("password_too_long", f"Use at most {PASSWORD_MAX} characters.")


async def get_by_email(session: AsyncSession, address: str) -> User | None:
    return (
        await session.execute(select(User).where(col(User.email) == address))
    ).scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    address: str,
    password: str,
    *,
    verified: bool = False,
    locale: str = DEFAULT_LANGUAGE,
) -> User:
    """Creates the account. Raises email_taken if it exists (checked again by the DB)."""
    address = normalize_email(address)
    check_password(password)
    if await get_by_email(session, address) is not None:
        raise ServiceError("email_taken", "An account with this email already exists.", status=409)
    user = User(
        email=address,
        password_hash=await hash_password(password),
        email_verified_at=utcnow() if verified else None,
        locale=locale if locale in LANGUAGES else DEFAULT_LANGUAGE,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        raise ServiceError(
            "email_taken", "An account with this email already exists.", status=409
        ) from None
    return user


async def _issue_token(session: AsyncSession, user: User, purpose: str, ttl: timedelta) -> str:
    token = new_token()
    issue_email_token(session, id_of(user), purpose, ttl, token_hash(token))
    return token


async def _consume_token(session: AsyncSession, token: str, purpose: str) -> User:
    if not token or len(token) > 200:
        raise ServiceError("token_invalid", "This link is invalid or has expired.")
    return await consume_email_token(session, token_hash(token), purpose)


def issue_email_token(
    session: AsyncSession, user_id: int, purpose: str, ttl: timedelta, digest: str
) -> None:
    """Stores a mailed link's token by its digest (never the token itself)."""
    session.add(
        EmailToken(user_id=user_id, purpose=purpose, token_hash=digest, expires_at=utcnow() + ttl)
    )


async def consume_email_token(session: AsyncSession, digest: str, purpose: str) -> User:
    """The account of a mailed link's token, used once: a guarded update marks it used, so
    two clicks (or two requests) cannot both succeed. Unknown, used, expired, or the
    account closed: one answer."""
    invalid = ServiceError("token_invalid", "This link is invalid or has expired.")
    row = (
        await session.execute(
            select(EmailToken).where(
                col(EmailToken.token_hash) == digest, col(EmailToken.purpose) == purpose
            )
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise invalid
    result = await session.execute(
        update(EmailToken)
        .where(col(EmailToken.id) == row.id, col(EmailToken.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if rowcount(result) != 1:
        raise invalid
    user = await session.get(User, row.user_id)
    if user is None or user.closed_at is not None:
        raise invalid
    return user


async def sign_up(
    session: AsyncSession,
    address: str,
    password: str,
    locale: str = DEFAULT_LANGUAGE,
    *,
    may_mail: Callable[[], bool] = lambda: True,
) -> User | None:
    """A new, unverified account and its verification mail (same transaction), in the
    language the visitor was reading the site in.

    An address that already has an account is never revealed: after the same password-hashing
    work, its owner is mailed (in the account's language) that someone tried to sign up with
    it, if `may_mail()` allows (the caller's mail limit), and None is returned; nothing about
    the account changes. A closed account is not mailed."""
    normalized = normalize_email(address)
    check_password(password)
    existing = await get_by_email(session, normalized)
    if existing is None:
        user = await create_user(session, normalized, password, locale=locale)
        await send_verification(session, user)
        return user
    await hash_password(password)  # the work a new account costs, so the time says nothing
    if existing.closed_at is None and may_mail():
        settings = get_settings()
        await email.enqueue_translated(
            session,
            existing.email,
            existing.locale,
            "mail.signup_exists",
            login=f"{settings.site_url}/login",
            reset=f"{settings.site_url}/forgot-password",
        )
    return None


async def send_verification(session: AsyncSession, user: User) -> None:
    settings = get_settings()
    token = await _issue_token(
        session, user, VERIFY, timedelta(hours=settings.verification_ttl_hours)
    )
    link = f"{settings.site_url}/api/auth/verify?token={token}"
    await email.enqueue_translated(
        session,
        user.email,
        user.locale,
        "mail.verify",
        link=link,
        hours=settings.verification_ttl_hours,
    )


async def _open_account(session: AsyncSession, address: str) -> User | None:
    """The open account with this address; None for a malformed or unknown address or a
    closed account (the mails asked for by address say nothing either way)."""
    try:
        address = normalize_email(address)
    except ServiceError:
        return None
    user = await get_by_email(session, address)
    return None if user is None or user.closed_at is not None else user


async def resend_verification(session: AsyncSession, address: str) -> None:
    """Silently does nothing for unknown or verified addresses (no account probing)."""
    user = await _open_account(session, address)
    if user is not None and user.email_verified_at is None:
        await send_verification(session, user)


async def verify_email(session: AsyncSession, token: str) -> User:
    user = await _consume_token(session, token, VERIFY)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    return user


async def authenticate(session: AsyncSession, address: str, password: str) -> User:
    """The user for these credentials, or invalid_credentials (same for unknown email)."""
    invalid = ServiceError("invalid_credentials", "Wrong email or password.", status=401)
    try:
        address = normalize_email(address)
    except ServiceError:
        await verify_password(password or "", None)
        raise invalid from None
    if not password or len(password) > PASSWORD_MAX:
        raise invalid
    user = await get_by_email(session, address)
    ok = await verify_password(password, user.password_hash if user else None)
    if user is None or not ok or user.closed_at is not None:
        raise invalid
    if user.suspended_at is not None:
        raise suspended()
    if user.email_verified_at is None:
        raise ServiceError(
            "email_not_verified",
            "Confirm your email address first: we sent you a link.",
            status=403,
        )
    return user


def suspended() -> ServiceError:
    """An operator suspended the account: the right password still does not sign it in."""
    return ServiceError(
        "account_suspended", "This account is suspended. Contact support.", status=403
    )


async def request_password_reset(session: AsyncSession, address: str) -> None:
    """Mails a reset link if the account exists; says nothing either way."""
    user = await _open_account(session, address)
    if user is None:
        return
    settings = get_settings()
    token = await _issue_token(session, user, RESET, timedelta(minutes=settings.reset_ttl_minutes))
    link = f"{settings.site_url}/reset-password?token={token}"
    await email.enqueue_translated(
        session,
        user.email,
        user.locale,
        "mail.reset",
        link=link,
        minutes=settings.reset_ttl_minutes,
    )


async def _set_password(session: AsyncSession, user: User, password: str) -> None:
    check_password(password)
    user.password_hash = await hash_password(password)
    # A new password ends every session: whoever knew the old one is signed out.
    await session.execute(delete(UserSession).where(col(UserSession.user_id) == user.id))


async def reset_password(session: AsyncSession, token: str, password: str) -> User:
    check_password(password)
    user = await _consume_token(session, token, RESET)
    await _set_password(session, user, password)
    if user.email_verified_at is None:  # the link proved control of the mailbox
        user.email_verified_at = utcnow()
    return user


WRONG_PASSWORD_CODE = "wrong_password"  # noqa: S105 (an error code, not a password)


def wrong_password() -> ServiceError:
    """A new instance per refusal (a module-level one re-raised would grow its traceback)."""
    return ServiceError(WRONG_PASSWORD_CODE, "Your current password is not right.", status=403)


async def change_password(session: AsyncSession, user: User, current: str, new: str) -> None:
    if not await verify_password(current or "", user.password_hash):
        raise wrong_password()
    await _set_password(session, user, new)


async def count_users(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(User))).scalar_one()
