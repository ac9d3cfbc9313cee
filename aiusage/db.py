"""Database engine and sessions. Everything in the server is async: no request or event
handler blocks the event loop the proxy and the dashboard share."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aiusage.config import get_settings


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. (AsyncSession.execute is typed as returning a Result
    whatever the statement; for DML it is a CursorResult, which has the count.)"""
    return cast("CursorResult[Any]", result).rowcount


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the dialect of the engine the session is bound to."""
    return session.get_bind().dialect.name


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Settings every SQLite connection of the app uses (the engine's and the holds thread's):
    without NORMAL a connection fsyncs on every commit (measured: ~130 µs of CPU a commit)."""
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while the proxy writes; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@functools.cache
def get_engine() -> AsyncEngine:
    settings = get_settings()
    url = settings.async_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=8, max_overflow=8)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


@functools.cache
def _session_factory() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(get_engine(), class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on any error; what was
    registered with `after_commit` runs after a successful commit only."""
    async with _session_factory()() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            await session.rollback()
            raise
        for action in session.info.pop(_AFTER_COMMIT, ()):
            await action()


_AFTER_COMMIT = "aiusage.after_commit"


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """`action` runs once `session_scope` has committed this session's work (what must not be
    seen before the data is: the key-change announcements). It must not raise."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


_sqlite_write_lock: asyncio.Lock | None = None


def write_lock() -> contextlib.AbstractAsyncContextManager[object]:
    """Serialises this process's write transactions on SQLite (one writer at a time anyway):
    waiting on an asyncio lock is cheaper and fairer than SQLite's sleeping busy handler."""
    global _sqlite_write_lock
    if not get_settings().is_sqlite:
        return contextlib.nullcontext()
    if _sqlite_write_lock is None:
        _sqlite_write_lock = asyncio.Lock()
    return _sqlite_write_lock


async def dispose_engine() -> None:
    if get_engine.cache_info().currsize:
        await get_engine().dispose()
        get_engine.cache_clear()
        _session_factory.cache_clear()


# asyncpg's errors for a server that is restarting, shutting down or gone (by name: asyncpg
# is only installed with the postgres extra).
_UNAVAILABLE_ERRORS = frozenset(
    {
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "ConnectionRejectionError",
        "TooManyConnectionsError",
    }
)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached for now (restarting, connections
    cut, refused), not that a statement was wrong: an answer of 503, to be retried."""
    seen: BaseException | None = error
    for _ in range(10):  # the cause chain: SQLAlchemy's wrapper, the driver's, the socket's
        if seen is None:
            return False
        if isinstance(seen, OSError | sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        if type(seen).__name__ in _UNAVAILABLE_ERRORS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
