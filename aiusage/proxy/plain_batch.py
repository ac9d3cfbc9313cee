"""The usage writer's batch as plain SQL: on SQLite in the lane, on PostgreSQL on the
engine's connection.

The same transaction as `usage_writer.book_batch` (which SQLite outside the proxy still
uses), statement for statement: the claim of the batch's hold rows, the balances read (and
on PostgreSQL locked) for the cover, the usage rows, their hourly and daily rollups, one
balance update per user with the ledger rows, the operator's loss lines, the keys' spend.
Through SQLAlchemy's statements that batch cost 10-15 ms of CPU whatever its size
(statements built, cache keys computed and the rollup upsert compiled anew for every batch;
`python -m bench.writer`); here its statements are fixed strings. The alerts (low balance,
auto top-up, key budgets) still run through the ORM in the same transaction, for the users
and keys a plain query finds may be due one: usually none.

The statements are written once with `?` marks and run through a small adapter per driver:
SQLite's sqlite3 connection in the lane's thread (`SqliteLane.transaction`, the connection
under the session: one commit covers both), PostgreSQL's as the session's own connection
(`exec_driver_sql`: no compiling, SQLAlchemy's transaction and error wrapping)."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiusage.models import UsageRecord, utcnow
from aiusage.models.base import table_of
from aiusage.proxy.holds import now_ms
from aiusage.proxy.rollups import daily_rollups, rollups
from aiusage.services import alerts, billing, key_alerts, key_rules

_STORE_TIME = table_of(UsageRecord).c.created_at.type._cached_bind_processor(
    sqlite_dialect.dialect()
)


class Statements(Protocol):
    """What the batch needs of a driver; SQL with `?` marks."""

    row_lock: str  # appended to the balances' SELECT: PostgreSQL locks the users' rows

    def time(self, value: datetime) -> Any: ...

    async def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]: ...

    async def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None: ...

    async def insert_usage(self, rows: list[dict[str, Any]]) -> list[int]:
        """Inserts the usage rows (whose columns may differ: a reclaim's has fewer); their
        ids, in order."""
        ...


class SqliteStatements:
    """The lane's sqlite3 connection (its thread; statements of microseconds)."""

    row_lock = ""  # the lane's transaction holds SQLite's write lock

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def time(self, value: datetime) -> Any:
        return _STORE_TIME(value) if _STORE_TIME is not None else value

    async def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return self.db.execute(sql, params).fetchall()

    async def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self.db.executemany(sql, params)

    async def insert_usage(self, rows: list[dict[str, Any]]) -> list[int]:
        ids: list[int] = []
        for row in rows:
            columns = tuple(row)
            values = [row[c] for c in columns]
            values[columns.index("created_at")] = self.time(row["created_at"])
            usage_id = self.db.execute(_usage_insert(columns), values).lastrowid
            assert usage_id is not None  # a row was inserted: it has its rowid
            ids.append(usage_id)
        return ids


class PostgresStatements:
    """The session's connection (asyncpg), SQL passed to the driver as it is."""

    row_lock = " FOR UPDATE"

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    def time(self, value: datetime) -> Any:
        return value  # aware UTC: asyncpg stores it as timestamptz

    async def rows(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        result = await self.connection.exec_driver_sql(_dollars(sql), tuple(params))
        return result.all() if result.returns_rows else []

    async def many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        await self.connection.exec_driver_sql(_dollars(sql), [tuple(p) for p in params])

    async def insert_usage(self, rows: list[dict[str, Any]]) -> list[int]:
        # A pipelined executemany per set of columns, then the ids by request id (unique):
        # two round trips for a batch, where a RETURNING per row would be one per row.
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        for row in rows:
            by_columns.setdefault(tuple(row), []).append(list(row.values()))
        for columns, values in by_columns.items():
            await self.many(_usage_insert(columns), values)
        request_ids = [row["request_id"] for row in rows]
        ids: dict[str, int] = {row[0]: row[1] for row in await self.rows(_USAGE_IDS, [request_ids])}
        return [ids[request_id] for request_id in request_ids]


_USAGE_IDS = "SELECT request_id, id FROM usage WHERE request_id = ANY(?)"


@functools.cache
def _dollars(sql: str) -> str:
    """`?` marks as PostgreSQL's `$1, $2...` (our statements have no `?` in literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _marks(n: int) -> str:
    return ",".join("?" * n)


_ROLLUP_KEY = ("user_id", "proxy_key_id", "provider", "model", "hour")
_USER_STATE = "SELECT id, balance_nano, held_nano FROM users WHERE id IN ({}) ORDER BY id"
_USER_BOOK = (
    "UPDATE users SET balance_nano = balance_nano - ?, held_nano = held_nano - ?"
    " WHERE id = ? RETURNING balance_nano"
)
_LEDGER = (
    "INSERT INTO ledger (user_id, created_at, kind, amount_nano, balance_after_nano,"
    " description, usage_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_LOSS = (
    "INSERT INTO operator_losses (created_at, user_id, request_id, amount_nano, reason)"
    " VALUES (?, ?, ?, ?, ?)"
)
# {period}: each key's current period start (`_period_sql`), its marks once per use.
_KEY_BOOK = (
    "UPDATE proxy_keys SET last_used_at = ?, spent_nano = spent_nano + ?,"
    " held_nano = held_nano - ?,"
    " period_spent_nano = CASE WHEN period_start_ms < ({period}) THEN ?"
    " ELSE period_spent_nano + ? END,"
    " period_start_ms = CASE WHEN period_start_ms < ({period}) THEN ({period})"
    " ELSE period_start_ms END"
    " WHERE id = ?"
)
# Users a low-balance mail or an auto top-up may be due: a superset of what
# `alerts.after_charges` acts on (it checks again, exactly).
_MAYBE_ALERTED = (
    "SELECT id FROM users WHERE id IN ({}) AND ("
    "(low_balance_alerted_at IS NULL AND closed_at IS NULL"
    " AND balance_nano < coalesce(low_balance_threshold_nano, ?))"
    " OR (auto_topup_enabled AND balance_nano < auto_topup_below_nano))"
)
_usage_inserts: dict[tuple[str, ...], str] = {}


def _usage_insert(columns: tuple[str, ...]) -> str:
    sql = _usage_inserts.get(columns)
    if sql is None:
        sql = _usage_inserts[columns] = (
            f"INSERT INTO usage ({', '.join(columns)}) VALUES ({_marks(len(columns))})"  # noqa: S608 (column names of our own)
        )
    return sql


def _rollup_upsert(table: str, period: str, columns: tuple[str, ...]) -> str:
    # Table and column names of our own: nothing from a request is spliced in. The sums
    # name the table: on PostgreSQL a bare column is ambiguous next to `excluded`.
    key = (*_ROLLUP_KEY[:-1], period)
    sums = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns if c not in key)
    into = f"{table} ({', '.join(columns)}) VALUES ({_marks(len(columns))})"
    return f"INSERT INTO {into} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sums}"


def _period_sql(now: datetime) -> tuple[str, list[str | int]]:
    """`usage_writer.current_period_ms` in SQL: each key's current period start (ms)."""
    params: list[str | int] = []
    whens = []
    for period in key_rules.PERIODS:
        params += [period, key_rules.period_start_ms(period, now)]
        whens.append("WHEN budget_period = ? THEN CAST(? AS BIGINT)")
    return "CASE " + " ".join(whens) + " ELSE 0 END", params


async def claim_holds(st: Statements, batch: list[Any]) -> list[Any]:
    """`usage_writer.claim_holds`: deletes the batch's hold rows, keeps the settlements whose
    row this deleted (a reclaim's only while its lease has run out)."""
    claimed: set[str] = set()
    for reclaimed in (False, True):
        ids = [s.request_id for s in batch if s.reclaimed is reclaimed]
        if not ids:
            continue
        sql = f"DELETE FROM holds WHERE request_id IN ({_marks(len(ids))})"  # noqa: S608
        params: list[Any] = list(ids)
        if reclaimed:
            sql += " AND lease_until_ms < ?"
            params.append(now_ms())
        returned = await st.rows(sql + " RETURNING request_id", params)
        claimed.update(row[0] for row in returned)
    return [s for s in batch if s.request_id in claimed]


async def book_batch(session: AsyncSession, db: sqlite3.Connection, batch: list[Any]) -> set[int]:
    """`usage_writer.book_batch` on the lane's connection `db`; returns the users due an
    auto top-up."""
    return await _book(session, SqliteStatements(db), batch)


async def book_batch_postgres(session: AsyncSession, batch: list[Any]) -> set[int]:
    """`usage_writer.book_batch` on PostgreSQL, on the session's connection (one transaction
    with the ORM's alerts); returns the users due an auto top-up."""
    return await _book(session, PostgresStatements(await session.connection()), batch)


async def _book(session: AsyncSession, st: Statements, batch: list[Any]) -> set[int]:
    from aiusage.proxy.usage_writer import log  # imports this module

    now = utcnow()
    stamp = st.time(now)
    kept = await claim_holds(st, batch)
    if len(kept) < len(batch):
        log.info("%d settlements were booked already (reclaimed holds)", len(batch) - len(kept))
    batch = kept
    if not batch:
        return set()
    user_ids = sorted({s.user_id for s in batch})
    found = await st.rows(_USER_STATE.format(_marks(len(user_ids))) + st.row_lock, user_ids)
    balances = {user_id: (balance, held) for user_id, balance, held in found}
    covered = billing.cover(
        balances, [billing.DueCharge(s.user_id, s.hold_nano, s.charge_nano) for s in batch]
    )
    rows = [
        {"user_id": s.user_id, "proxy_key_id": s.key_id, **s.usage, "charged_nano": charged}
        for s, charged in zip(batch, covered, strict=True)
    ]
    usage_ids = await st.insert_usage(rows)

    hourly = rollups(rows)
    for table, period, sums in (
        ("usage_hourly", "hour", hourly),
        ("usage_daily", "day", daily_rollups(hourly)),
    ):
        if sums:
            names = tuple(sums[0])
            await st.many(
                _rollup_upsert(table, period, names),
                [
                    [
                        st.time(v) if c == period else v
                        for c, v in zip(names, s.values(), strict=True)
                    ]
                    for s in sums
                ],
            )

    per_user: dict[int, list[billing.UsageCharge]] = {}
    for s, row, usage_id, charged in zip(batch, rows, usage_ids, covered, strict=True):
        per_user.setdefault(s.user_id, []).append(
            billing.UsageCharge(
                s.user_id, charged, s.hold_nano, usage_id, f"{row['provider']} {row['model']}"
            )
        )
    ledger: list[tuple[Any, ...]] = []
    for user_id, items in sorted(per_user.items()):
        total = sum(item.charge_nano for item in items)
        held = sum(item.hold_nano for item in items)
        ((final,),) = await st.rows(_USER_BOOK, (total, held, user_id))
        ledger.extend(
            (r["user_id"], stamp, r["kind"], r["amount_nano"], r["balance_after_nano"],
             r["description"], r["usage_id"])
            for r in billing.usage_ledger_rows(user_id, final, items, now)
        )  # fmt: skip
    if ledger:
        await st.many(_LEDGER, ledger)

    losses = [
        (stamp, s.user_id, s.request_id, s.charge_nano - charged, "beyond_balance")
        for s, charged in zip(batch, covered, strict=True)
        if s.charge_nano - charged > 0
    ]
    if losses:
        await st.many(_LOSS, losses)

    per_key: dict[int, list[int]] = {}
    for s, charged in zip(batch, covered, strict=True):
        spent_and_held = per_key.setdefault(s.key_id, [0, 0])
        spent_and_held[0] += charged
        spent_and_held[1] += s.key_hold_nano
    period, at_period = _period_sql(now)
    key_book = _KEY_BOOK.format(period=period)
    for key_id, (spent, held) in sorted(per_key.items()):
        await st.rows(
            key_book, (stamp, spent, held, *at_period, spent, spent, *at_period * 2, key_id)
        )

    budgeted = {s.key_id for s in batch if s.key_budgeted and s.charge_nano}
    if budgeted:
        await key_alerts.after_key_charges(session, budgeted, now)
    charged_users = sorted({s.user_id for s in batch if s.charge_nano})
    if not charged_users:
        return set()
    maybe = [
        row[0]
        for row in await st.rows(
            _MAYBE_ALERTED.format(_marks(len(charged_users))),
            [*charged_users, alerts.default_threshold_nano()],
        )
    ]
    if not maybe:
        return set()
    # Low-balance mails in this transaction; auto top-ups start after it commits.
    return await alerts.after_charges(session, set(maybe))
