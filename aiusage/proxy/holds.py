"""Holding a request's worst-case cost before it is forwarded: one conditional UPDATE, so
concurrent requests (on any instance) cannot spend the same credit twice.

On SQLite the hold runs on a raw connection of its own in autocommit mode: the single
statement is atomic by itself, and skipping the ORM's machinery keeps the hot path short
(the benchmark measured 0.7 ms of CPU through SQLAlchemy, a fraction of that here)."""

from __future__ import annotations

from typing import Any

import aiosqlite
from sqlalchemy import select, update

from aiusage.config import get_settings
from aiusage.db import get_engine, write_lock
from aiusage.models import ProxyKey, User
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.errors import ProxyError

_HOLD_BALANCE = (
    "UPDATE users SET held_nano = held_nano + ? WHERE id = ? AND balance_nano - held_nano >= ?"
)
_HOLD_KEY = (
    "UPDATE proxy_keys SET held_nano = held_nano + ? "
    "WHERE id = ? AND spent_nano + held_nano + ? <= ?"
)
_HELD = "SELECT held_nano FROM users WHERE id = ?"


def _no_credit(held: int | None) -> ProxyError:
    return ProxyError(
        402,
        "Your aiusage credit is too low for this request. Top up in the dashboard."
        + (" Requests in flight may free some soon." if held else ""),
        retry_after=5 if held else None,
    )


def _limit_reached() -> ProxyError:
    return ProxyError(402, "This key has reached its spend limit.")


class Holds:
    def __init__(self) -> None:
        self._sqlite: aiosqlite.Connection | None = None

    async def start(self) -> None:
        settings = get_settings()
        if settings.is_sqlite and self._sqlite is None:
            path = settings.async_database_url.split(":///", 1)[1]
            self._sqlite = await aiosqlite.connect(path, isolation_level=None)
            await self._sqlite.execute("PRAGMA busy_timeout=10000")

    async def stop(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None

    async def place(self, grant: KeyGrant, hold: int) -> int:
        """Holds `hold` on the balance (and on the key if it has a spend limit), atomically.
        Returns the part held on the key. Raises 402 when either does not fit."""
        async with write_lock():
            if self._sqlite is not None:
                return await self._place_sqlite(self._sqlite, grant, hold)
            return await self._place_sqlalchemy(grant, hold)

    @staticmethod
    async def _place_sqlite(db: aiosqlite.Connection, grant: KeyGrant, hold: int) -> int:
        limited = grant.spend_limit_nano is not None
        if limited:
            await db.execute("BEGIN IMMEDIATE")
        try:
            cursor = await db.execute(_HOLD_BALANCE, (hold, grant.user_id, max(hold, 1)))
            if cursor.rowcount != 1:
                row: Any = await (await db.execute(_HELD, (grant.user_id,))).fetchone()
                raise _no_credit(row[0] if row else None)
            if not limited:
                return 0
            cursor = await db.execute(_HOLD_KEY, (hold, grant.key_id, hold, grant.spend_limit_nano))
            if cursor.rowcount != 1:
                raise _limit_reached()
            await db.execute("COMMIT")
            return hold
        except BaseException:
            if limited and db.in_transaction:
                await db.execute("ROLLBACK")
            raise

    @staticmethod
    async def _place_sqlalchemy(grant: KeyGrant, hold: int) -> int:
        async with get_engine().begin() as connection:
            fits = await connection.execute(
                update(User)
                .where(User.id == grant.user_id, User.balance_nano - User.held_nano >= max(hold, 1))
                .values(held_nano=User.held_nano + hold)
            )
            if fits.rowcount != 1:
                held = (
                    await connection.execute(select(User.held_nano).where(User.id == grant.user_id))
                ).scalar_one_or_none()
                raise _no_credit(held)
            if grant.spend_limit_nano is None:
                return 0
            fits = await connection.execute(
                update(ProxyKey)
                .where(
                    ProxyKey.id == grant.key_id,
                    ProxyKey.spent_nano + ProxyKey.held_nano + hold <= grant.spend_limit_nano,
                )
                .values(held_nano=ProxyKey.held_nano + hold)
            )
            if fits.rowcount != 1:  # raising rolls back the balance hold with it
                raise _limit_reached()
            return hold
