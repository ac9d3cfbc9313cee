"""On SQLite, one thread does all of the proxy's money writes: the holds and the usage
writer's batches, one after the other.

SQLite has a single write lock, so a hold placed while a usage batch is being written waits
for that batch's transaction. Through the engine (aiosqlite) a batch is a dozen statements,
each a hop to aiosqlite's thread and back through the event loop, with the loop's other work
in between: the transaction stayed open for 10-25 ms at low traffic, and that was the p99 of
a request. Here a batch is a single hop: the same async code (`write_batch`'s statements,
alerts, ORM) runs on a private event loop in the lane's thread, over a driver that executes
each statement at once in that thread (`_InlineConnection`), so the transaction lasts only as
long as its statements (on SQLite the batch's statements are plain SQL: `plain_batch.py`).
A hold runs on the event loop's own connection when SQLite's lock is free, else here on an
autocommit connection of the lane's, waiting for the lock off the loop; the leases are
renewed here too. The lane decides where the money's statements run, not what they write."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from aiusage.db import sqlite_pragmas

T = TypeVar("T")


class _InlineCursor:
    """aiosqlite's cursor API over a sqlite3 cursor, run in the calling thread."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class _InlineConnection:
    """aiosqlite's connection API over a sqlite3 connection, run in the calling thread (the
    lane's): what SQLAlchemy's aiosqlite dialect calls, without aiosqlite's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection = connection  # the dialect checks it before commit and rollback

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _InlineCursor:
        return _InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        self._conn.close()


class SqliteLane:
    """The thread, its private event loop, the holds' raw connection and an engine of one
    connection whose statements run in the thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self.raw: sqlite3.Connection | None = None  # the holds' (autocommit)
        self.batch_raw: sqlite3.Connection | None = None  # the engine's one connection

    @property
    def open(self) -> bool:
        return self._pool is not None

    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="aiusage-holds")
        await asyncio.get_running_loop().run_in_executor(self._pool, self._open)

    def _open(self) -> None:
        self._loop = asyncio.new_event_loop()
        self.raw = connect(self.path, isolation_level=None)

        async def inline() -> _InlineConnection:
            self.batch_raw = connect(self.path)
            return _InlineConnection(self.batch_raw)

        self._engine = create_async_engine(
            "sqlite+aiosqlite://", async_creator=inline, poolclass=StaticPool
        )
        self._sessions = async_sessionmaker(
            self._engine, class_=AsyncSession, expire_on_commit=False
        )

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(pool, self._close)
            pool.shutdown(wait=True)

    def _close(self) -> None:
        assert self._loop is not None and self._engine is not None
        self._loop.run_until_complete(self._engine.dispose())
        self._loop.close()
        if self.raw is not None:
            self.raw.close()
            self.raw = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(raw_connection, *args)` in the lane's thread."""
        if self._pool is None:
            raise _stopped()
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, self.raw, *args)

    async def transaction(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """`await fn(session, connection, *args)` in one transaction, run in the lane's
        thread: `connection` is the sqlite3 connection under the session, for plain SQL in
        the same transaction. Committed if `fn` returns, rolled back if it raises."""
        if self._pool is None:
            raise _stopped()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._run_transaction, fn, args
        )

    def _run_transaction(self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
        assert self._loop is not None
        return self._loop.run_until_complete(self._in_session(fn, args))

    async def _in_session(self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
        assert self._sessions is not None
        async with self._sessions() as session:
            # The session's connection first: `batch_raw` is opened with it, the first time.
            await session.connection()
            db = self.batch_raw
            assert db is not None
            try:
                result = await fn(session, db, *args)
                await session.commit()  # commits the connection: plain SQL and ORM alike
                if db.in_transaction:
                    db.commit()
            except BaseException:
                await session.rollback()
                if db.in_transaction:
                    db.rollback()
                raise
        return result


def _stopped() -> sqlite3.OperationalError:
    # The database's trouble for the usage writer (it retries, then writes on the engine),
    # never a reason to set a settlement aside.
    return sqlite3.OperationalError("the SQLite lane is stopped")


def connect(
    path: str, isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = "DEFERRED"
) -> sqlite3.Connection:
    """A connection for the lane's thread with the engine's pragmas. `isolation_level`:
    DEFERRED (the default) opens a transaction before the first write, as the engine's
    connections do (sqlite3's own default, ""); None is autocommit, the transactions
    explicit (the holds)."""
    connection = sqlite3.connect(path, isolation_level=isolation_level, check_same_thread=False)
    sqlite_pragmas(connection)
    return connection
