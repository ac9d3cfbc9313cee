"""Usage rows and charges, written off the response path, by a writer nothing can stop.

The request handler places its hold synchronously (it decides 402 before forwarding) and
then hands a Settlement to the writer, which books a batch in one transaction: it deletes
the batch's hold rows (a settlement whose hold row is gone was booked already — by a reclaim
— and is skipped: exactly one usage row per request), then the usage rows, the ledger rows
with their balance changes and hold releases, the keys' spend, and an operator loss line for
any cost beyond what the balance covers.

A batch that fails is split to find the rows at fault; a settlement that still cannot be
booked is set aside whole in `dead_settlements` (its hold released) and the rest is booked,
so one bad row never stops billing for everyone. While the database itself is unreachable
the writer waits and retries. A graceful stop waits at most `usage_stop_timeout` seconds;
what is unwritten then is kept in a file under the data directory and booked at the next
start (its hold rows make that idempotent)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aiusage.config import get_settings
from aiusage.db import dialect_name, get_engine, session_scope, write_lock
from aiusage.models import (
    DeadSettlement,
    Hold,
    ProxyKey,
    UsageRecord,
    User,
    utcnow,
)
from aiusage.models.base import table_of
from aiusage.proxy import plain_batch
from aiusage.proxy.holds import now_ms
from aiusage.proxy.lane import SqliteLane
from aiusage.proxy.rollups import add_rollups
from aiusage.services import alerts, billing, key_alerts, key_rules, topups
from aiusage.services.pricing import TokenCounts

log = logging.getLogger("aiusage.metering")
BATCH = 500
SINGLE_ROW_ATTEMPTS = 3
SPILL_DIR = "unbooked-usage"


@dataclass
class Settlement:
    user_id: int
    key_id: int
    hold_nano: int
    key_hold_nano: int  # the part of the hold also placed on the key (keys with spend limits)
    charge_nano: int  # at full price; the writer books what the balance covers
    usage: dict[str, Any] = field(default_factory=dict)  # UsageRecord columns
    reclaimed: bool = False  # booked for a dead owner: only if its lease has run out
    key_budgeted: bool = False  # the key has a periodic budget (and perhaps alert mails)

    @property
    def request_id(self) -> str:
        return str(self.usage.get("request_id", ""))

    def to_json(self) -> str:
        """ASCII JSON (a lone surrogate is escaped, not an error): always storable."""
        return json.dumps(asdict(self), default=_jsonable, ensure_ascii=True)

    @classmethod
    def from_json(cls, line: str) -> Settlement:
        data = json.loads(line)
        created = data["usage"].get("created_at")
        if isinstance(created, str):
            data["usage"]["created_at"] = datetime.fromisoformat(created)
        return cls(**data)


def counted_columns(counts: TokenCounts) -> dict[str, Any]:
    """The usage row's columns that come from the counts (tokens, tool uses, estimated)."""
    return {
        "input_tokens": counts.input,
        "output_tokens": counts.output,
        "cache_write_5m_tokens": counts.cache_write_5m,
        "cache_write_1h_tokens": counts.cache_write_1h,
        "cache_read_tokens": counts.cache_read,
        "web_search_calls": counts.web_search_calls,
        "web_fetch_calls": counts.web_fetch_calls,
        "file_search_calls": counts.file_search_calls,
        "code_interpreter_containers": counts.code_interpreter_containers,
        "tokens_estimated": counts.estimated,
    }


_usage = table_of(UsageRecord).c
_USAGE_INSERT = insert(table_of(UsageRecord)).returning(_usage.id, sort_by_parameter_order=True)
_USAGE_NULLS = {c.name: None for c in table_of(UsageRecord).c if c.nullable}
_users = table_of(User).c
# Users a low-balance mail or an auto top-up may be due: a superset of what
# `alerts.after_charges` acts on (it checks again, exactly), in one cheap statement.
_MAYBE_ALERTED = select(_users.id).where(
    _users.id.in_(bindparam("ids", expanding=True)),
    or_(
        and_(
            _users.low_balance_alerted_at.is_(None),
            _users.closed_at.is_(None),
            _users.balance_nano
            < func.coalesce(_users.low_balance_threshold_nano, bindparam("default")),
        ),
        and_(
            _users.auto_topup_enabled.is_(True),
            _users.balance_nano < _users.auto_topup_below_nano,
        ),
    ),
)


def current_period_ms(now: datetime) -> ColumnElement[int]:
    """Each key's current budget period start (ms), from its own period (0 without one)."""
    return case(
        *[
            (col(ProxyKey.budget_period) == period, key_rules.period_start_ms(period, now))
            for period in key_rules.PERIODS
        ],
        else_=0,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class UsageWriter:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Settlement | None] = asyncio.Queue()  # None: stop
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._writing: list[Settlement] = []  # the batch being booked now
        self.dead_count = 0  # settlements set aside by this process
        self.lane: SqliteLane | None = None  # where batches are written on SQLite

    @property
    def pending(self) -> int:
        """Settlements not yet booked: queued, and the batch being written (for /metrics)."""
        return self._queue.qsize() + len(self._writing)

    def submit(self, settlement: Settlement) -> None:
        self._idle.clear()
        self._queue.put_nowait(settlement)

    def start(self, lane: SqliteLane | None = None) -> None:
        """`lane`: the holds' SQLite lane, to write the batches in (else on the engine)."""
        self.lane = lane
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="aiusage-usage-writer")
            for settlement in load_spilled():
                self.submit(settlement)

    async def stop(self) -> None:
        """Writes everything queued, then stops; after `usage_stop_timeout` seconds it stops
        anyway and keeps what is unwritten in a file for the next start."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        task, self._task = self._task, None
        done, _ = await asyncio.wait({task}, timeout=get_settings().usage_stop_timeout)
        if not done:
            # Its transaction waits on the database: never cancel it mid-statement (that can
            # leave SQLite's lock held), let it finish or die with the process. What it books
            # meanwhile is skipped at the next start: its hold rows are gone.
            left = list(self._writing)
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    left.append(item)
            self._queue.put_nowait(None)  # it stops after its batch, should it ever finish
            if left:
                path = spill(left)
                log.warning("%d usage rows were not written in time; kept in %s", len(left), path)
        self._writing = []
        self._idle.set()

    async def flushed(self) -> None:
        """Waits until everything submitted so far is written."""
        await self._idle.wait()

    def _take_batch(self, first: Settlement | None) -> tuple[list[Settlement], bool]:
        """`first` and what else is queued, up to BATCH; and whether a stop was asked."""
        batch: list[Settlement] = []
        stop = False
        item = first
        while True:
            if item is None:
                stop = True
            else:
                batch.append(item)
            if len(batch) >= BATCH or self._queue.empty():
                return batch, stop
            item = self._queue.get_nowait()

    async def _run(self) -> None:
        interval = get_settings().usage_flush_interval
        while True:
            first = await self._queue.get()
            if first is not None and interval and self._queue.qsize() < BATCH:
                # A batch has a fixed cost (one transaction, one rollup upsert...): gather
                # what arrives in the next moment rather than write rows one by one.
                await asyncio.sleep(interval)
            batch, stop = self._take_batch(first)
            if batch:
                self._writing = batch
                await self._book(batch)
                self._writing = []
            if self._queue.empty():
                self._idle.set()
            if stop:
                return

    async def _book(self, batch: list[Settlement]) -> None:
        """Books the batch, whatever it takes: waits out an unreachable database, splits a
        batch that fails to find its bad rows, sets aside a row that cannot be written."""
        delay = 0.05
        attempts = 0
        while True:
            try:
                await write_batch(batch, self.lane)
                return
            except Exception as error:
                attempts += 1
                if _transient(error) or not await database_answers():
                    # Locked, unreachable, a deadlock victim: the rows are not at fault.
                    log.warning("database unavailable (%s); retrying", type(error).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    attempts = 0
                    continue
                if len(batch) > 1:
                    middle = len(batch) // 2
                    await self._book(batch[:middle])
                    await self._book(batch[middle:])
                    return
                if attempts < SINGLE_ROW_ATTEMPTS:
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                if await self._set_aside(batch[0], error):
                    return

    async def _set_aside(self, settlement: Settlement, error: Exception) -> bool:
        """Keeps a settlement that cannot be booked in `dead_settlements` and releases its
        hold; False if even that failed (the database is in trouble: retry later)."""
        reason = f"{type(error).__name__}"
        log.error(
            "usage row of request %s cannot be written (%s); set aside for the operator",
            settlement.request_id.encode("ascii", "backslashreplace").decode(),
            reason,
        )
        try:
            await set_aside(settlement, reason)
        except Exception:
            log.exception("setting a usage row aside failed; retrying")
            await asyncio.sleep(1.0)
            return False
        self.dead_count += 1
        return True


def _transient(error: Exception) -> bool:
    """The database's trouble, not the data's: locked, gone, or this transaction chosen as a
    deadlock victim. On SQLite the lane's batch raises the driver's own errors (plain SQL):
    its OperationalError is what SQLAlchemy's wraps (locked past the busy timeout)."""
    return isinstance(
        error, OperationalError | InterfaceError | sqlite3.OperationalError | sqlite3.InterfaceError
    ) or (isinstance(error, DBAPIError) and error.connection_invalidated)


async def database_answers() -> bool:
    try:
        async with get_engine().connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def set_aside(settlement: Settlement, reason: str) -> None:
    """The dead-letter transaction: the whole settlement as ASCII JSON, and the release of its
    hold (if its hold row is still there)."""
    async with write_lock(), session_scope() as session:
        claimed = (
            await session.execute(
                delete(Hold)
                .where(col(Hold.request_id) == settlement.request_id)
                .returning(col(Hold.amount_nano), col(Hold.key_amount_nano))
            )
        ).one_or_none()
        if claimed is not None:
            await session.execute(
                update(User)
                .where(col(User.id) == settlement.user_id)
                .values(held_nano=col(User.held_nano) - claimed[0])
            )
            if claimed[1]:
                await session.execute(
                    update(ProxyKey)
                    .where(col(ProxyKey.id) == settlement.key_id)
                    .values(held_nano=col(ProxyKey.held_nano) - claimed[1])
                )
        session.add(
            DeadSettlement(
                request_id=settlement.request_id.encode("ascii", "backslashreplace").decode()[:64],
                user_id=settlement.user_id,
                error=reason[:255],
                payload=settlement.to_json(),
            )
        )


def _spill_dir() -> Path:
    return get_settings().data_dir / SPILL_DIR


def spill(settlements: list[Settlement]) -> Path:
    """Writes settlements to a file of this process's own (fsynced: it is money)."""
    directory = _spill_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}-{now_ms()}.jsonl"
    with path.open("w", encoding="ascii") as handle:
        handle.writelines(s.to_json() + "\n" for s in settlements)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def load_spilled() -> list[Settlement]:
    """Settlements an earlier process kept at its stop. Each file is claimed by renaming it
    (one process wins) and removed once read: booking them again would be harmless anyway,
    as a settlement whose hold row is gone is skipped."""
    directory = _spill_dir()
    if not directory.is_dir():
        return []
    found: list[Settlement] = []
    for path in sorted(directory.glob("*.jsonl")):
        claimed = path.with_suffix(f".claimed-{os.getpid()}")
        try:
            path.rename(claimed)
        except OSError:
            continue  # another process took it
        lines = claimed.read_text(encoding="ascii").splitlines()
        found.extend(Settlement.from_json(line) for line in lines if line.strip())
        claimed.unlink()
    if found:
        log.warning("booking %d usage rows kept by an earlier stop", len(found))
    return found


async def claim_holds(session: AsyncSession, batch: list[Settlement]) -> list[Settlement]:
    """Deletes the batch's hold rows; returns the settlements whose row this deleted (the
    others were booked already). A reclaim takes a row only while its lease has run out.
    Being a write, it also takes SQLite's write lock before anything is read."""
    claimed: set[str] = set()
    holds = table_of(Hold).c  # Core, not ORM-enabled DML: a fraction of the CPU per batch
    for reclaimed in (False, True):
        ids = [s.request_id for s in batch if s.reclaimed is reclaimed]
        if not ids:
            continue
        statement = delete(table_of(Hold)).where(holds.request_id.in_(ids))
        if reclaimed:
            statement = statement.where(holds.lease_until_ms < now_ms())
        claimed.update((await session.execute(statement.returning(holds.request_id))).scalars())
    kept = [s for s in batch if s.request_id in claimed]
    if len(kept) < len(batch):
        log.info("%d settlements were booked already (reclaimed holds)", len(batch) - len(kept))
    return kept


async def write_batch(batch: list[Settlement], lane: SqliteLane | None = None) -> None:
    """Books the batch in one transaction: as plain SQL (plain_batch.py) in the SQLite lane's
    thread when given one (a single hop; holds wait behind it only for its statements) or on
    PostgreSQL, else (SQLite outside the proxy) through SQLAlchemy (`book_batch`)."""
    async with write_lock():
        if lane is not None and lane.open:
            due = await lane.transaction(plain_batch.book_batch, batch)
        else:
            async with session_scope() as session:
                if dialect_name(session) == "postgresql":
                    due = await plain_batch.book_batch_postgres(session, batch)
                else:
                    due = await book_batch(session, batch)
    if due:
        topups.schedule_auto_topups(due)  # Stripe calls: never inside the usage transaction


async def book_batch(session: AsyncSession, batch: list[Settlement]) -> set[int]:
    """One transaction for the whole batch, with set-based statements: the hold rows, the
    usage rows, their rollups, the ledger rows with their balance changes and hold releases,
    the keys' spend, and the operator's loss lines. Returns the users due an auto top-up
    (started by the caller once this has committed)."""
    now = utcnow()
    batch = await claim_holds(session, batch)
    if not batch:
        return set()
    covered = await billing.cover_charges(
        session, [billing.DueCharge(s.user_id, s.hold_nano, s.charge_nano) for s in batch]
    )
    rows = [
        {"user_id": s.user_id, "proxy_key_id": s.key_id, **s.usage, "charged_nano": charged}
        for s, charged in zip(batch, covered, strict=True)
    ]
    usage_ids = (
        (
            await session.execute(
                _USAGE_INSERT,
                [{**_USAGE_NULLS, **row} for row in rows],  # every row the same columns
            )
        )
        .scalars()
        .all()
    )
    await add_rollups(session, rows)
    await billing.book_usage(
        session,
        [
            billing.UsageCharge(
                s.user_id,
                charged,
                s.hold_nano,
                usage_id,
                f"{row['provider']} {row['model']}",
            )
            for s, row, usage_id, charged in zip(batch, rows, usage_ids, covered, strict=True)
        ],
    )
    await billing.book_losses(
        session,
        [
            (s.user_id, s.request_id, s.charge_nano - charged)
            for s, charged in zip(batch, covered, strict=True)
        ],
        "beyond_balance",
    )
    per_key: dict[int, list[int]] = {}
    for s, charged in zip(batch, covered, strict=True):
        spent_and_held = per_key.setdefault(s.key_id, [0, 0])
        spent_and_held[0] += charged
        spent_and_held[1] += s.key_hold_nano
    period = current_period_ms(now)
    keys = table_of(ProxyKey).c  # Core, not ORM-enabled DML
    for key_id, (spent, held) in sorted(per_key.items()):
        await session.execute(
            update(table_of(ProxyKey))
            .where(keys.id == key_id)
            .values(
                last_used_at=now,
                spent_nano=keys.spent_nano + spent,
                held_nano=keys.held_nano - held,
                # Booked in the period current now (a booking may start it, as a hold does).
                period_spent_nano=case(
                    (keys.period_start_ms < period, spent),
                    else_=keys.period_spent_nano + spent,
                ),
                period_start_ms=case(
                    (keys.period_start_ms < period, period),
                    else_=keys.period_start_ms,
                ),
            )
        )
    await key_alerts.after_key_charges(
        session, {s.key_id for s in batch if s.key_budgeted and s.charge_nano}, now
    )
    charged_users = sorted({s.user_id for s in batch if s.charge_nano})
    if not charged_users:
        return set()
    params = {"ids": charged_users, "default": alerts.default_threshold_nano()}
    maybe = set((await session.execute(_MAYBE_ALERTED, params)).scalars())
    if not maybe:
        return set()
    # Low-balance mails in this transaction; auto top-ups start after it commits.
    return await alerts.after_charges(session, maybe)
