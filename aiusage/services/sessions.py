"""Browser sessions: an opaque random token in the `bai_session` cookie, its hash stored."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import get_settings
from aiusage.models import User, UserSession, utcnow
from aiusage.services.security import ip_hash, new_token, token_hash

COOKIE_NAME = "bai_session"


async def create_session(
    session: AsyncSession, user: User, *, user_agent: str = "", ip: str | None = None
) -> str:
    """Starts a session and returns the token for the cookie (never stored as such)."""
    token = new_token()
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=utcnow() + timedelta(days=get_settings().session_ttl_days),
            user_agent=(user_agent or "")[:512],
            ip_hash=ip_hash(ip),
        )
    )
    return token


async def user_for_token(session: AsyncSession, token: str | None) -> User | None:
    """The signed-in user, or None for a missing, unknown, expired or closed session."""
    if not token or len(token) > 200:
        return None
    row = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= utcnow() or user.closed_at is not None:
        return None
    return user


async def end_session(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.execute(
            delete(UserSession).where(UserSession.token_hash == token_hash(token))
        )


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def token_from_cookie_header(cookie_header: str | None) -> str | None:
    """The session token from a raw Cookie header (Reflex states read it this way)."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:  # a malformed cookie header is simply "not signed in"
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else None
