"""Browser sessions: an opaque random token in the `bai_session` cookie, its hash stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import SimpleCookie

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.models import User, UserSession, utcnow
from aiusage.models.base import id_of
from aiusage.services.errors import NotFound
from aiusage.services.security import ip_hash, new_token, token_hash

COOKIE_NAME = "bai_session"
# How stale a session's "last used" may get: refreshing it on every event would be a write
# per click, so it is rewritten at most this often.
TOUCH_EVERY = timedelta(minutes=5)


async def create_session(
    session: AsyncSession, user: User, *, user_agent: str = "", ip: str | None = None
) -> str:
    """Starts a session and returns the token for the cookie (never stored as such)."""
    token = new_token()
    now = utcnow()
    session.add(
        UserSession(
            user_id=id_of(user),
            token_hash=token_hash(token),
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(days=get_settings().session_ttl_days),
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
            .join(User, col(User.id) == col(UserSession.user_id))
            .where(col(UserSession.token_hash) == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    if user_session.expires_at <= now or user.closed_at is not None:
        return None
    if user.suspended_at is not None:  # signed out at suspension; no session may revive
        return None
    stale = now - TOUCH_EVERY
    if user_session.last_used_at is None or user_session.last_used_at <= stale:
        await session.execute(
            update(UserSession)
            .where(
                col(UserSession.id) == user_session.id,
                or_(
                    col(UserSession.last_used_at).is_(None), col(UserSession.last_used_at) <= stale
                ),
            )
            .values(last_used_at=now)
        )
    return user


async def end_session(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.execute(
            delete(UserSession).where(col(UserSession.token_hash) == token_hash(token))
        )


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id))


@dataclass(frozen=True)
class SessionInfo:
    """One signed-in browser as its owner sees it (no token, no hash)."""

    id: int
    created_at: datetime
    last_used_at: datetime | None
    user_agent: str
    current: bool


async def list_sessions(
    session: AsyncSession, user_id: int, current_token: str | None = None
) -> list[SessionInfo]:
    """The user's live sessions, most recently used first; `current` marks the one behind
    `current_token` (the browser asking)."""
    current_hash = token_hash(current_token) if current_token else ""
    rows = (
        await session.execute(
            select(UserSession)
            .where(col(UserSession.user_id) == user_id, col(UserSession.expires_at) > utcnow())
            .order_by(col(UserSession.id).desc())
        )
    ).scalars()
    found = [
        SessionInfo(
            id_of(row),
            row.created_at,
            row.last_used_at,
            row.user_agent,
            bool(current_hash) and row.token_hash == current_hash,
        )
        for row in rows
    ]
    found.sort(key=lambda s: (s.current, s.last_used_at or s.created_at), reverse=True)
    return found


async def revoke_session(
    session: AsyncSession, user_id: int, session_id: int, current_token: str | None = None
) -> bool:
    """Ends one of *this user's* sessions; returns whether it was the asking browser's own.
    An id that is not this user's is "not found", whoever's it is."""
    not_found = NotFound("session_not_found", "This session has already ended.")
    row = (
        await session.execute(
            select(UserSession).where(
                col(UserSession.id) == session_id, col(UserSession.user_id) == user_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise not_found
    await session.execute(
        delete(UserSession).where(
            col(UserSession.id) == row.id, col(UserSession.user_id) == user_id
        )
    )
    return bool(current_token) and row.token_hash == token_hash(current_token or "")


# What a User-Agent is labelled, as (browser or system, pattern, name). Checked in order
# within each: Edge and Opera also say "Chrome", Chrome also says "Safari".
_LABELS = tuple(
    (kind, re.compile(pattern), name)
    for kind, pattern, name in (
        ("browser", r"\bEdg(e|A|iOS)?/", "Edge"),
        ("browser", r"\b(OPR|Opera)/", "Opera"),
        ("browser", r"\bSamsungBrowser/", "Samsung Internet"),
        ("browser", r"\b(Firefox|FxiOS)/", "Firefox"),
        ("browser", r"\b(HeadlessChrome|Chrome|Chromium|CriOS)/", "Chrome"),
        ("browser", r"\bVersion/[\d.]+.*Safari/", "Safari"),
        ("browser", r"^curl/", "curl"),
        ("browser", r"(?i)python-(httpx|requests)|aiohttp", "Python"),
        ("system", r"iPhone|iPad|iPod", "iOS"),
        ("system", r"Android", "Android"),
        ("system", r"CrOS", "ChromeOS"),
        ("system", r"Windows", "Windows"),
        ("system", r"Mac OS X|Macintosh", "macOS"),
        ("system", r"Linux|X11", "Linux"),
    )
)


def describe_user_agent(user_agent: str) -> tuple[str, str]:
    """A browser and a system name from a User-Agent ("Chrome", "Linux"); "" for either when
    it cannot be told. Rough on purpose: a label for people, not a fingerprint."""
    ua = (user_agent or "")[:512]
    found = {"browser": "", "system": ""}
    for kind, pattern, name in _LABELS:
        if not found[kind] and pattern.search(ua):
            found[kind] = name
    return found["browser"], found["system"]


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
