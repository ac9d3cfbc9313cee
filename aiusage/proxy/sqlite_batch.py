"""The usage writer's batch on SQLite, as plain SQL on the lane's connection.

The same transaction as `usage_writer.book_batch` (which PostgreSQL, and SQLite outside the
proxy, still use), statement for statement: the claim of the batch's hold rows, the
balances read for the cover, the usage rows, their hourly and daily rollups, one balance update per
user with the ledger rows, the operator's loss lines, the keys' spend. Through SQLAlchemy
that batch cost 10-15 ms of CPU whatever its size (statements built, cache keys computed
and the rollup upsert compiled anew for every batch; `python -m bench.writer`); here its
statements are fixed strings and a batch of one costs a fraction of a millisecond. The
alerts (low balance, auto top-up, key budgets) still run through the ORM in the same
transaction, for the users and keys a plain query finds may be due one: usually none.

Runs in the lane's thread only (`SqliteLane.transaction`), the connection being the one the
session's statements also use, so one commit covers both."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.models import UsageRecord, utcnow
from aiusage.models.base import table_of
from aiusage.proxy.holds import now_ms
from aiusage.proxy.rollups import daily_rollups, rollups
from aiusage.services import alerts, billing, key_alerts, key_rules

_STORE_TIME = table_of(UsageRecord).c.created_at.type._cached_bind_processor(
    sqlite_dialect.dialect()
)


def _time(value: datetime) -> Any:
    return _STORE_TIME(value) if _STORE_TIME is not None else value


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
_KEY_BOOK = (
    "UPDATE proxy_keys SET last_used_at = :now, spent_nano = spent_nano + :spent,"
    " held_nano = held_nano - :held,"
    " period_spent_nano = CASE WHEN period_start_ms < ({period}) THEN :spent"
    " ELSE period_spent_nano + :spent END,"
    " period_start_ms = CASE WHEN period_start_ms < ({period}) THEN ({period})"
    " ELSE period_start_ms END"
    " WHERE id = :key"
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
    # Table and column names of our own: nothing from a request is spliced in.
    key = (*_ROLLUP_KEY[:-1], period)
    sums = ", ".join(f"{c} = {c} + excluded.{c}" for c in columns if c not in key)
    into = f"{table} ({', '.join(columns)}) VALUES ({_marks(len(columns))})"
    return f"INSERT INTO {into} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sums}"


def _period_sql(now: datetime) -> tuple[str, dict[str, str | int]]:
    """`usage_writer.current_period_ms` in SQL: each key's current period start (ms)."""
    params: dict[str, str | int] = {}
    whens = []
    for n, period in enumerate(key_rules.PERIODS):
        params[f"p{n}"] = period
        params[f"s{n}"] = key_rules.period_start_ms(period, now)
        whens.append(f"WHEN budget_period = :p{n} THEN :s{n}")
    return "CASE " + " ".join(whens) + " ELSE 0 END", params


def claim_holds(db: sqlite3.Connection, batch: list[Any]) -> list[Any]:
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
        returned = db.execute(sql + " RETURNING request_id", params).fetchall()
        claimed.update(row[0] for row in returned)
    return [s for s in batch if s.request_id in claimed]


async def book_batch(session: AsyncSession, db: sqlite3.Connection, batch: list[Any]) -> set[int]:
    """`usage_writer.book_batch` on the lane's connection `db`; returns the users due an
    auto top-up."""
    from aiusage.proxy.usage_writer import log  # imports this module

    now = utcnow()
    stamp = _time(now)
    kept = claim_holds(db, batch)
    if len(kept) < len(batch):
        log.info("%d settlements were booked already (reclaimed holds)", len(batch) - len(kept))
    batch = kept
    if not batch:
        return set()
    user_ids = sorted({s.user_id for s in batch})
    balances = {
        user_id: (balance, held)
        for user_id, balance, held in db.execute(
            _USER_STATE.format(_marks(len(user_ids))), user_ids
        )
    }
    covered = billing.cover(
        balances, [billing.DueCharge(s.user_id, s.hold_nano, s.charge_nano) for s in batch]
    )
    rows = [
        {"user_id": s.user_id, "proxy_key_id": s.key_id, **s.usage, "charged_nano": charged}
        for s, charged in zip(batch, covered, strict=True)
    ]
    usage_ids: list[int] = []
    for row in rows:
        columns = tuple(row)
        values = [row[c] for c in columns]
        values[columns.index("created_at")] = _time(row["created_at"])
        usage_id = db.execute(_usage_insert(columns), values).lastrowid
        assert usage_id is not None  # a row was inserted: it has its rowid
        usage_ids.append(usage_id)

    hourly = rollups(rows)
    for table, period, sums in (
        ("usage_hourly", "hour", hourly),
        ("usage_daily", "day", daily_rollups(hourly)),
    ):
        if sums:
            columns = tuple(sums[0])
            db.executemany(
                _rollup_upsert(table, period, columns),
                [
                    [
                        _time(v) if c == period else v
                        for c, v in zip(columns, s.values(), strict=True)
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
        ((final,),) = db.execute(_USER_BOOK, (total, held, user_id)).fetchall()
        ledger.extend(
            (r["user_id"], stamp, r["kind"], r["amount_nano"], r["balance_after_nano"],
             r["description"], r["usage_id"])
            for r in billing.usage_ledger_rows(user_id, final, items, now)
        )  # fmt: skip
    if ledger:
        db.executemany(_LEDGER, ledger)

    losses = [
        (stamp, s.user_id, s.request_id, s.charge_nano - charged, "beyond_balance")
        for s, charged in zip(batch, covered, strict=True)
        if s.charge_nano - charged > 0
    ]
    if losses:
        db.executemany(_LOSS, losses)

    per_key: dict[int, list[int]] = {}
    for s, charged in zip(batch, covered, strict=True):
        spent_and_held = per_key.setdefault(s.key_id, [0, 0])
        spent_and_held[0] += charged
        spent_and_held[1] += s.key_hold_nano
    period, period_params = _period_sql(now)
    key_book = _KEY_BOOK.format(period=period)
    for key_id, (spent, held) in sorted(per_key.items()):
        db.execute(
            key_book,
            {"now": stamp, "spent": spent, "held": held, "key": key_id, **period_params},
        )

    budgeted = {s.key_id for s in batch if s.key_budgeted and s.charge_nano}
    if budgeted:
        await key_alerts.after_key_charges(session, budgeted, now)
    charged_users = sorted({s.user_id for s in batch if s.charge_nano})
    if not charged_users:
        return set()
    maybe = [
        row[0]
        for row in db.execute(
            _MAYBE_ALERTED.format(_marks(len(charged_users))),
            [*charged_users, alerts.default_threshold_nano()],
        )
    ]
    if not maybe:
        return set()
    # Low-balance mails in this transaction; auto top-ups start after it commits.
    return await alerts.after_charges(session, set(maybe))
