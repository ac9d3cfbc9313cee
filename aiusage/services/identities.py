"""Sign-in methods: the password and linked OpenID identities (Google).

An account may have a password, one or more linked identities, or both. Signing in with
Google finds the identity by its (provider, subject); failing that it links to the account
with the same *verified* email, or creates a verified account. A method can be removed as
long as another one remains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.i18n import DEFAULT as DEFAULT_LANGUAGE
from aiusage.i18n import LANGUAGES
from aiusage.models import User, UserIdentity, utcnow
from aiusage.models.base import id_of
from aiusage.services import accounts, sessions
from aiusage.services.errors import NotFound, ServiceError

GOOGLE = "google"
PASSWORD_METHOD = "password"  # noqa: S105 (a method name, not a secret)


@dataclass(frozen=True)
class SignInMethod:
    """One way to sign in, as the account's owner sees it (no secrets)."""

    id: str  # "password" or "identity:<id>"
    kind: str  # "password" or a provider name
    detail: str  # the identity's email ("" for the password)
    created_at: datetime | None


def email_is_verified(claims: dict[str, Any]) -> bool:
    """True only when the provider says so (Google sends a boolean; some send "true")."""
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


async def find_identity(session: AsyncSession, provider: str, subject: str) -> UserIdentity | None:
    return (
        await session.execute(
            select(UserIdentity).where(
                col(UserIdentity.provider) == provider, col(UserIdentity.subject) == subject
            )
        )
    ).scalar_one_or_none()


def _usable(user: User | None, provider: str) -> User:
    if user is None or user.closed_at is not None:
        raise ServiceError(f"{provider}_account_closed", "This account is closed.", status=403)
    if user.suspended_at is not None:
        raise accounts.suspended()
    return user


async def sign_in_with_provider(
    session: AsyncSession,
    provider: str,
    claims: dict[str, Any],
    *,
    locale: str = DEFAULT_LANGUAGE,
) -> User:
    """The account for verified ID-token claims: the linked one, else the one with the same
    verified email (now linked), else a new verified account. Raises ServiceError with
    `<provider>_…` codes the log-in page translates."""
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise ServiceError(f"{provider}_token_invalid", "The sign-in could not be verified.")
    identity = await find_identity(session, provider, subject)
    if identity is not None:
        return _usable(await session.get(User, identity.user_id), provider)

    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or not raw_email:
        raise ServiceError(f"{provider}_no_email", "The provider did not share an email address.")
    if not email_is_verified(claims):
        raise ServiceError(
            f"{provider}_email_unverified",
            "The provider has not verified this email address.",
            status=403,
        )
    address = accounts.normalize_email(raw_email)

    user = await accounts.get_by_email(session, address)
    if user is not None:
        _usable(user, provider)
        if user.email_verified_at is None:
            # Nobody ever proved this mailbox for the password account, so whoever chose
            # that password may not be its owner: drop it (and its sessions) rather than
            # hand the owner's account to them (pre-account-takeover).
            user.password_hash = None
            user.email_verified_at = utcnow()
            await sessions.end_all_sessions(session, id_of(user))
    else:
        user = User(
            email=address,
            password_hash=None,
            email_verified_at=utcnow(),
            locale=locale if locale in LANGUAGES else DEFAULT_LANGUAGE,
        )
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent sign-up with this email won the race
            raise ServiceError(
                "email_taken", "An account with this email already exists.", status=409
            ) from None
    await link_identity(session, user, provider, subject, address)
    return user


async def link_identity(
    session: AsyncSession, user: User, provider: str, subject: str, address: str = ""
) -> UserIdentity:
    identity = UserIdentity(
        user_id=id_of(user), provider=provider, subject=subject, email=address[:320]
    )
    session.add(identity)
    try:
        await session.flush()
    except IntegrityError:
        raise ServiceError(
            f"{provider}_already_linked",
            "This account of the provider is already linked to another account.",
            status=409,
        ) from None
    return identity


async def list_methods(session: AsyncSession, user_id: int) -> list[SignInMethod]:
    user = await session.get(User, user_id)
    if user is None:
        return []
    methods = []
    if user.password_hash:
        methods.append(SignInMethod(PASSWORD_METHOD, PASSWORD_METHOD, "", None))
    rows = await session.execute(
        select(UserIdentity)
        .where(col(UserIdentity.user_id) == user_id)
        .order_by(col(UserIdentity.id))
    )
    methods.extend(
        SignInMethod(
            f"identity:{identity.id}", identity.provider, identity.email, identity.created_at
        )
        for identity in rows.scalars()
    )
    return methods


async def count_methods(session: AsyncSession, user: User) -> int:
    identities = (
        await session.execute(
            select(func.count())
            .select_from(UserIdentity)
            .where(col(UserIdentity.user_id) == user.id)
        )
    ).scalar_one()
    return identities + (1 if user.password_hash else 0)


async def remove_method(session: AsyncSession, user_id: int, method_id: str) -> None:
    """Removes one of *this user's* sign-in methods; refuses to remove the last one. An id
    that is not this user's is "not found", whoever owns it."""
    not_found = NotFound("sign_in_method_not_found", "This sign-in method does not exist.")
    # Lock the account row (PostgreSQL) so two removals cannot both see "another remains".
    user = (
        await session.execute(select(User).where(col(User.id) == user_id).with_for_update())
    ).scalar_one_or_none()
    if user is None:
        raise not_found
    identity: UserIdentity | None = None
    if method_id == PASSWORD_METHOD:
        if not user.password_hash:
            raise not_found
    else:
        kind, _, raw_id = (method_id or "").partition(":")
        if kind != "identity" or not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
            raise not_found
        identity = (
            await session.execute(
                select(UserIdentity).where(
                    col(UserIdentity.id) == int(raw_id), col(UserIdentity.user_id) == user.id
                )
            )
        ).scalar_one_or_none()
        if identity is None:
            raise not_found
    if await count_methods(session, user) <= 1:
        raise ServiceError(
            "sign_in_last_method",
            "This is your only way to sign in: add another before removing it.",
            status=409,
        )
    if identity is None:
        user.password_hash = None
    else:
        await session.execute(
            delete(UserIdentity).where(
                col(UserIdentity.id) == identity.id, col(UserIdentity.user_id) == user.id
            )
        )
