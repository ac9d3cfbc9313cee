"""Holding a request's worst-case cost before it is forwarded.

A hold is two things written in one transaction: the conditional UPDATE that raises
`users.held_nano` only if the available balance covers it (so concurrent requests on any
instance cannot spend the same credit twice), and a row in `holds` naming the request, its
owner process and a lease. Invariants:

- `users.held_nano` (and `proxy_keys.held_nano`) equals the sum of the user's (key's) hold
  rows: every statement that changes one changes the other in the same transaction.
- A hold row is deleted exactly once, by the transaction that books its request (the usage
  writer, or the reclaim of a dead owner's holds); whoever deletes it books it.
- The owner renews its leases every third of the lease; a lease that runs out means the owner
  died (a crash, `kill -9`), and any live instance books the request as interrupted.

On SQLite the hold runs on a plain sqlite3 connection of its own, on the event loop: its
three statements take tens of microseconds, less than a hop to another thread and back. It
never waits there: that connection does not wait for SQLite's lock (busy timeout 0) and does
not checkpoint the log (the other connections do). The process's own writers are already
kept out by `write_lock`; when another process holds the lock, the hold goes to the lane's
thread (`lane.py`, where the usage writer's batches run) and waits there. (The benchmark
measured the ORM path at 0.7 ms of CPU, the hop to the thread at 0.1-0.2 ms.)

On PostgreSQL the three writes are one statement on asyncpg directly (pg_holds.py); the
SQLAlchemy path below is what a process that has not started its Holds uses."""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import get_engine, write_lock
from aiusage.models import Hold, User
from aiusage.money import format_usd
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.lane import SqliteLane, connect
from aiusage.services import key_rules

_HOLD_BALANCE = (
    "UPDATE users SET held_nano = held_nano + ? WHERE id = ? AND balance_nano - held_nano >= ?"
)
# The key's hold, within its lifetime limit and its period budget (either may be NULL). A
# hold that finds the period over starts the new one: the period's spend restarts at 0.
# The casts: PostgreSQL cannot type a parameter whose only use is `IS NULL`.
_HOLD_KEY = (
    "UPDATE proxy_keys SET held_nano = held_nano + :amount,"
    " period_spent_nano = CASE WHEN period_start_ms < :period THEN 0 ELSE period_spent_nano END,"
    " period_start_ms = CASE WHEN period_start_ms < :period THEN :period ELSE period_start_ms END"
    " WHERE id = :key AND (CAST(:limit AS BIGINT) IS NULL"
    " OR spent_nano + held_nano + :amount <= CAST(:limit AS BIGINT))"
    " AND (CAST(:budget AS BIGINT) IS NULL OR (CASE WHEN period_start_ms < :period THEN 0"
    " ELSE period_spent_nano END) + held_nano + :amount <= CAST(:budget AS BIGINT))"
)
_KEY_SPEND = (
    "SELECT spent_nano, held_nano,"
    " CASE WHEN period_start_ms < :period THEN 0 ELSE period_spent_nano END"
    " FROM proxy_keys WHERE id = :key"
)
_HOLD_ROW = (
    "INSERT INTO holds (request_id, user_id, proxy_key_id, amount_nano, key_amount_nano, owner,"
    " lease_until_ms, started_ms, provider, endpoint, model, byok, request_bytes)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_HELD = "SELECT held_nano FROM users WHERE id = ?"
_RENEW = "UPDATE holds SET lease_until_ms = ? WHERE owner = ?"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class HoldTicket:
    """One request's hold: what it reserved, and what a reclaim needs to book it."""

    request_id: str
    user_id: int
    key_id: int
    amount_nano: int
    started_ms: int
    provider: str
    endpoint: str
    model: str
    byok: bool
    request_bytes: int


class NoCredit(ProxyError):
    def __init__(self, held: int | None) -> None:
        super().__init__(
            402,
            "Your aiusage credit is too low for this request. Top up in the dashboard."
            + (" Requests in flight may free some soon." if held else ""),
            retry_after=5 if held else None,
        )


class KeyLimitReached(ProxyError):
    def __init__(
        self, grant: KeyGrant, spend: tuple[int, int, int] | None, amount: int, now: datetime
    ) -> None:
        """Says which limit refused `amount`: the lifetime spend limit, or the period's
        budget — used up, taken by requests in flight (then worth a retry in seconds), or
        not enough left for this request's worst case. `spend`: the key's (lifetime spend,
        held, this period's spend)."""
        spent, held, period_spent = spend or (0, 0, 0)
        limit, budget, period = grant.spend_limit_nano, grant.budget_nano, grant.budget_period
        if (
            budget is None
            or period is None
            or (limit is not None and spent + held + amount > limit)
        ):
            super().__init__(402, "This key has reached its spend limit.")
            return
        reset = key_rules.next_reset(period, now)
        until_reset = max(1, math.ceil((reset - now).total_seconds()))
        name = f"This key's {key_rules.PERIOD_ADJECTIVES[period]} budget of {format_usd(budget)}"
        if period_spent >= budget:
            why, retry = "is used up", until_reset
        elif held and period_spent + amount <= budget:
            why, retry = "is taken by requests in flight", 5
        else:
            left = format_usd(budget - period_spent)
            why, retry = f"has {left} left, less than this request may cost", until_reset
        super().__init__(
            402,
            f"{name} {why}; it resets at {reset:%Y-%m-%d %H:%M} UTC.",
            retry_after=retry,
        )


class Holds:
    """Places and renews this process's holds. `owner` names the process in hold rows."""

    def __init__(self) -> None:
        self.owner = _new_owner()
        self.lane: SqliteLane | None = None  # on SQLite, from start to stop
        self._inline: sqlite3.Connection | None = None  # on SQLite: used on the event loop
        self._pg_pool: Any = None  # on PostgreSQL: the hold's asyncpg pool (pg_holds.py)

    async def start(self) -> None:
        # Named at start, not at import: server workers forked from one parent must not
        # share a name (a dead worker's holds would be renewed by its live siblings).
        self.owner = _new_owner()
        settings = get_settings()
        if settings.is_sqlite and self.lane is None:
            path = settings.async_database_url.split(":///", 1)[1]
            lane = SqliteLane(path)
            await lane.start()
            self.lane = lane
            self._inline = _connect_inline(path)
        elif get_engine().url.get_backend_name() == "postgresql" and self._pg_pool is None:
            from aiusage.proxy import pg_holds  # asyncpg: only with the postgres extra

            self._pg_pool = await pg_holds.open_pool()

    async def stop(self) -> None:
        pg_pool, self._pg_pool = self._pg_pool, None
        if pg_pool is not None:
            await pg_pool.close()
        lane, self.lane = self.lane, None
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        if lane is not None:
            await lane.stop()

    def lease_until(self) -> int:
        return now_ms() + int(get_settings().hold_lease_seconds * 1000)

    async def place(self, grant: KeyGrant, ticket: HoldTicket, now: datetime | None = None) -> int:
        """Holds `ticket.amount_nano` on the balance (and on the key if it has a spend limit
        or a budget) and writes the hold row, atomically. Returns the part held on the key.
        Raises 402 when any does not fit. `now`: the time that decides the budget period."""
        now = now or datetime.now(UTC)
        key_amount = ticket.amount_nano if grant.holds_on_key else 0
        row = (
            ticket.request_id,
            ticket.user_id,
            ticket.key_id,
            ticket.amount_nano,
            key_amount,
            self.owner,
            self.lease_until(),
            ticket.started_ms,
            ticket.provider,
            ticket.endpoint,
            ticket.model,
            ticket.byok,
            ticket.request_bytes,
        )
        async with write_lock():
            if self.lane is not None:
                outcome = None
                if self._inline is not None:
                    outcome = _place_sqlite(self._inline, grant, row, now, wait=False)
                if outcome is None:  # another process is writing: wait in the lane's thread
                    outcome = await self.lane.call(_place_sqlite, grant, row, now)
                if isinstance(outcome, ProxyError):
                    raise outcome
                assert outcome is not None  # the lane's call waits for the lock: it decides
                return outcome
            if self._pg_pool is not None:
                from aiusage.proxy import pg_holds

                return await pg_holds.place(self._pg_pool, grant, row, now)
            return await _place_sqlalchemy(grant, row, now)

    async def renew(self) -> None:
        """Extends the lease of every hold this process owns (one statement)."""
        until = self.lease_until()
        async with write_lock():
            if self.lane is not None:
                await self.lane.call(_renew_sqlite, until, self.owner)
                return
            async with get_engine().begin() as connection:
                await connection.execute(
                    update(Hold).where(col(Hold.owner) == self.owner).values(lease_until_ms=until)
                )


def _new_owner() -> str:
    return "p-" + secrets.token_hex(8)


def _key_terms(grant: KeyGrant, amount: int, now: datetime) -> dict[str, object]:
    return {
        "amount": amount,
        "key": grant.key_id,
        "limit": grant.spend_limit_nano,
        "budget": grant.budget_nano,
        "period": key_rules.period_start_ms(grant.budget_period, now),
    }


def _connect_inline(path: str) -> sqlite3.Connection:
    """The event loop's connection for holds: never waits for the lock, never checkpoints."""
    connection = connect(path, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=0")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    return connection


def _place_sqlite(
    db: sqlite3.Connection,
    grant: KeyGrant,
    row: tuple[object, ...],
    now: datetime,
    wait: bool = True,
) -> int | ProxyError | None:
    """One transaction, committed only if everything fits. Without `wait`: None, nothing
    done, when another connection holds SQLite's write lock."""
    amount = row[3]
    assert isinstance(amount, int)
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        if wait:
            raise
        return None
    try:
        if db.execute(_HOLD_BALANCE, (amount, grant.user_id, max(amount, 1))).rowcount != 1:
            held = db.execute(_HELD, (grant.user_id,)).fetchone()
            db.execute("ROLLBACK")
            return NoCredit(held[0] if held else None)
        if grant.holds_on_key:
            terms = _key_terms(grant, amount, now)
            if db.execute(_HOLD_KEY, terms).rowcount != 1:
                spend = db.execute(_KEY_SPEND, terms).fetchone()
                db.execute("ROLLBACK")
                return KeyLimitReached(grant, spend, amount, now)
        db.execute(_HOLD_ROW, row)
        db.execute("COMMIT")
        return row[4]  # type: ignore[return-value]
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _renew_sqlite(db: sqlite3.Connection, until: int, owner: str) -> None:
    db.execute(_RENEW, (until, owner))


_HOLD_COLUMNS = (
    "request_id",
    "user_id",
    "proxy_key_id",
    "amount_nano",
    "key_amount_nano",
    "owner",
    "lease_until_ms",
    "started_ms",
    "provider",
    "endpoint",
    "model",
    "byok",
    "request_bytes",
)


async def _place_sqlalchemy(grant: KeyGrant, row: tuple[object, ...], now: datetime) -> int:
    values = dict(zip(_HOLD_COLUMNS, row, strict=True))
    amount = values["amount_nano"]
    assert isinstance(amount, int)
    async with get_engine().begin() as connection:
        fits = await connection.execute(
            update(User)
            .where(
                col(User.id) == grant.user_id,
                col(User.balance_nano) - col(User.held_nano) >= max(amount, 1),
            )
            .values(held_nano=col(User.held_nano) + amount)
        )
        if fits.rowcount != 1:
            held = (
                await connection.execute(
                    select(col(User.held_nano)).where(col(User.id) == grant.user_id)
                )
            ).scalar_one_or_none()
            raise NoCredit(held)
        if grant.holds_on_key:
            terms = _key_terms(grant, amount, now)
            fits = await connection.execute(text(_HOLD_KEY), terms)
            if fits.rowcount != 1:  # raising rolls back the balance hold with it
                spend = (await connection.execute(text(_KEY_SPEND), terms)).first()
                raise KeyLimitReached(grant, tuple(spend) if spend else None, amount, now)
        await connection.execute(insert(Hold).values(**values))
    key_amount = values["key_amount_nano"]
    assert isinstance(key_amount, int)
    return key_amount
