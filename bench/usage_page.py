"""Benchmark of the usage page's queries on a big database.

Builds a SQLite database (schema from the models) holding 2,000,000 usage rows over the last
90 days, 500,000 of them belonging to one user, plus their hourly and daily rollups (computed
with INSERT … SELECT … GROUP BY, as the proxy's writer would have kept them), then times each
query the usage page and the overview run, through the same service functions the pages call,
on the app's async engine. Prints p50/p95 per query.

With `--database postgres` the same rows are copied into a throwaway PostgreSQL server
(tests/helpers/pg.py: Debian's postgresql, its own temp directory, deleted at the end) and timed
there; `--postgres-url URL` times an existing database instead (loaded first if empty).

    .venv/bin/python -m bench.usage_page [--rows 2000000] [--user-rows 500000] [--runs 30]
                                          [--db PATH (kept; reused if it exists)]
                                          [--database sqlite|postgres] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
]
TARGET_KEYS = 5
OTHER_USERS = 300
DAYS = 90


def _build(path: Path, rows: int, user_rows: int) -> None:
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import aiusage.models  # noqa: F401  (registers the tables)

    engine = sa.create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = datetime.now(UTC).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    users = [(1, "bench@example.com")] + [
        (i, f"other{i}@example.com") for i in range(2, OTHER_USERS + 2)
    ]
    db.executemany(
        "INSERT INTO users (id, email, created_at, locale, balance_nano, held_nano,"
        " marketing_opt_out, auto_topup_enabled) VALUES (?, ?, ?, 'en', 10000000000, 0, 0, 0)",
        [(uid, email, stamp) for uid, email in users],
    )
    keys = [(k, 1, f"key {k}") for k in range(1, TARGET_KEYS + 1)]
    keys += [(TARGET_KEYS + uid, uid, "other") for uid, _ in users[1:]]
    db.executemany(
        "INSERT INTO proxy_keys (id, user_id, name, prefix, key_hash, created_at, spent_nano,"
        " held_nano) VALUES (?, ?, ?, 'sk-aiu-bench', ?, ?, 0, 0)",
        [(kid, uid, name, f"{kid:064x}", stamp) for kid, uid, name in keys],
    )
    db.commit()

    rng = random.Random(7)
    span = DAYS * 86400
    start = now - timedelta(seconds=span)
    chunk = 50_000
    insert = (
        "INSERT INTO usage (request_id, created_at, user_id, proxy_key_id, provider, endpoint,"
        " model, key_source, input_tokens, output_tokens, cache_write_5m_tokens,"
        " cache_write_1h_tokens, cache_read_tokens, cost_nano, charged_nano, priced_by_default,"
        " tokens_estimated, status, error_type, latency_ms, ttfb_ms, request_bytes,"
        " response_bytes, streamed, ip_hash, user_agent) VALUES"
        " (?, ?, ?, ?, ?, '/v1/messages', ?, 'own', ?, ?, ?, 0, ?, ?, ?, 0, 0, ?, ?, ?, ?,"
        " 2000, 1500, ?, '', 'bench')"
    )
    # Rows are written in time order (as the proxy writes them), the target user's spread in.
    target_every = rows / max(user_rows, 1)
    written_target = 0
    for base in range(0, rows, chunk):
        batch = []
        for i in range(base, min(base + chunk, rows)):
            is_target = written_target < user_rows and (i + 1) >= (written_target + 1) * (
                target_every
            )
            if is_target:
                written_target += 1
                user_id = 1
                key_id = 1 + i % TARGET_KEYS
            else:
                user_id = 2 + i % OTHER_USERS
                key_id = TARGET_KEYS + user_id
            provider, model = MODELS[rng.randrange(len(MODELS))]
            created = start + timedelta(seconds=span * i / rows)
            inp, out = rng.randint(100, 20_000), rng.randint(10, 2_000)
            cost = inp * 3_000 + out * 15_000
            status = 200 if rng.random() > 0.02 else 529
            latency = int(rng.lognormvariate(6.5, 0.8))
            batch.append(
                (
                    f"req-{i:012d}",
                    created.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    user_id,
                    key_id,
                    provider,
                    model,
                    inp,
                    out,
                    0,
                    inp // 3,
                    cost,
                    cost // 20,
                    status,
                    None if status == 200 else "overloaded_error",
                    latency,
                    latency // 3,
                    i % 2,
                )
            )
        db.executemany(insert, batch)
        db.commit()

    bounds = __import__("aiusage.models", fromlist=["x"]).LATENCY_BUCKETS_MS
    cases = []
    lower = -1
    for i, upper in enumerate(bounds):
        last = i == len(bounds) - 1
        cond = (
            f"latency_ms > {lower}" if last else f"latency_ms > {lower} AND latency_ms <= {upper}"
        )
        cases.append(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)")
        lower = upper
    db.execute(
        "INSERT INTO usage_hourly (user_id, proxy_key_id, provider, model, hour, requests, errors,"
        " input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_nano,"
        " charged_nano, latency_ms_sum, "
        + ", ".join(f"lat_{i}" for i in range(len(bounds)))
        + ") SELECT user_id, COALESCE(proxy_key_id, 0), provider, model,"
        " strftime('%Y-%m-%d %H:00:00.000000', created_at), COUNT(*),"
        " SUM(CASE WHEN status >= 400 OR error_type IS NOT NULL THEN 1 ELSE 0 END),"
        " SUM(input_tokens), SUM(output_tokens),"
        " SUM(cache_write_5m_tokens + cache_write_1h_tokens), SUM(cache_read_tokens),"
        " SUM(cost_nano), SUM(charged_nano), SUM(latency_ms), "
        + ", ".join(cases)
        + " FROM usage GROUP BY 1, 2, 3, 4, 5"
    )
    db.commit()
    db.close()
    _add_daily(path)


_SUMS = (
    "requests, errors, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,"
    " cost_nano, charged_nano, fee_nano, latency_ms_sum, "
    + ", ".join(f"lat_{i}" for i in range(10))
)


def _add_daily(path: Path) -> None:
    """The daily rollups (every phase) from the hourly ones, as migration 0015 backfills them,
    if the database has the table and it is empty (a database built before it gets them)."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import aiusage.models  # noqa: F401

    if "usage_daily" not in SQLModel.metadata.tables:
        return  # an older checkout of the app (timing the code before the daily rollups)
    engine = sa.create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)  # only the tables missing
    engine.dispose()
    db = sqlite3.connect(path)
    if db.execute("SELECT COUNT(*) FROM usage_daily").fetchone()[0] == 0:
        from aiusage.models import DAILY_PHASES_H

        sums = ", ".join(f"SUM({c.strip()})" for c in _SUMS.split(","))
        for phase in DAILY_PHASES_H:
            day = (
                f"strftime('%Y-%m-%d %H:00:00.000000', hour, '-{phase} hours', 'start of day',"
                f" '+{phase} hours')"
            )
            db.execute(
                f"INSERT INTO usage_daily (user_id, proxy_key_id, provider, model, day, {_SUMS})"
                f" SELECT user_id, proxy_key_id, provider, model, {day}, {sums}"
                f" FROM usage_hourly GROUP BY user_id, proxy_key_id, provider, model, {day}"
            )
        db.commit()
    db.close()


_TABLES = ("users", "proxy_keys", "usage", "usage_hourly", "usage_daily")


def _from_sqlite(column_type):
    """A SQLite value → what asyncpg sends for the column (aware UTC times, booleans)."""
    import sqlalchemy as sa

    python = getattr(column_type, "impl", column_type)
    if isinstance(python, sa.DateTime):
        return lambda v: datetime.fromisoformat(v).replace(tzinfo=UTC)
    if isinstance(python, sa.Boolean):
        return bool
    return lambda v: v


async def _load_postgres(path: Path, url: str) -> None:
    """Copies the SQLite database's tables into the PostgreSQL database `url` (schema from
    the models), unless it holds them already; then VACUUM ANALYZE, as autovacuum would."""
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlmodel import SQLModel

    import aiusage.models  # noqa: F401

    engine = create_async_engine("postgresql+asyncpg://" + url.split("://", 1)[1])
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()
    pg = await asyncpg.connect(url)
    try:
        if await pg.fetchval("SELECT COUNT(*) FROM usage") == 0:
            source = sqlite3.connect(path)
            tables = [t for t in _TABLES if t in SQLModel.metadata.tables]
            for table in tables:
                cursor = source.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cursor.description]
                convert = [_from_sqlite(SQLModel.metadata.tables[table].c[c].type) for c in columns]
                while rows := cursor.fetchmany(100_000):
                    await pg.copy_records_to_table(
                        table,
                        records=[
                            [v if v is None else f(v) for f, v in zip(convert, row, strict=True)]
                            for row in rows
                        ],
                        columns=columns,
                    )
            source.close()
            for table in tables:
                await pg.execute(f"VACUUM ANALYZE {table}")
    finally:
        await pg.close()


async def _time(label: str, runs: int, make) -> tuple[str, float, float, str]:
    from aiusage.db import session_scope

    samples = []
    result = None
    for _ in range(runs + 2):
        async with session_scope() as db:
            began = time.perf_counter()
            result = await make(db)
            samples.append((time.perf_counter() - began) * 1000)
    samples = sorted(samples[2:])  # two warm-up runs
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return label, p50, p95, _describe(result)


def _describe(result) -> str:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], list):
        return f"{len(result[0])} rows"
    if isinstance(result, list):
        return f"{len(result)} groups"
    if hasattr(result, "requests"):
        return f"{result.requests:,} requests"
    if hasattr(result, "models"):
        return f"{len(result.keys)} keys, {len(result.models)} models"
    return ""


async def _by_model_and_key(db, flt):
    from aiusage.services import usage_breakdown

    return (
        await usage_breakdown.totals_by(db, flt, "model"),
        await usage_breakdown.totals_by(db, flt, "key"),
    )


async def _usage_page(db, flt):
    """What the usage page's load runs for its figures (aiusage/state/usage.py), in order."""
    from aiusage.services import usage

    await usage.filter_options(db, flt.user_id, flt.start)
    result = await usage.totals(db, flt)
    await _by_model_and_key(db, flt)
    await usage.spend_by_model(db, flt, "day")
    await usage.series(db, flt, "day")
    return result


async def _run(runs: int, tz: int) -> list[tuple[str, float, float, str]]:
    from aiusage.db import dispose_engine
    from aiusage.services import usage

    flt, rng = usage.filter_from_params(1, {"range": "30d", "tz": str(tz)})
    flt90, _ = usage.filter_from_params(1, {"range": "90d", "tz": str(tz)})
    model_flt, _ = usage.filter_from_params(
        1, {"range": "30d", "tz": str(tz), "model": "claude-opus-4-1", "key": "3"}
    )
    today, rng_today = usage.filter_from_params(1, {"range": "today", "tz": str(tz)})
    async with __import__("aiusage.db", fromlist=["x"]).session_scope() as db:
        _, cursor = await usage.page(db, flt)
        for _ in range(20):  # page 21, for the "older" button deep in the table
            _, cursor = await usage.page(db, flt, cursor)
    deep = cursor
    queries = [
        ("30d filter options", lambda db: usage.filter_options(db, 1, flt.start)),
        ("30d totals", lambda db: usage.totals(db, flt)),
        ("30d chart: spend by model/day", lambda db: usage.spend_by_model(db, flt, rng.bucket)),
        ("30d chart: tokens/requests/latency per day", lambda db: usage.series(db, flt, "day")),
        ("30d table, first page (50)", lambda db: usage.page(db, flt)),
        ("30d table, page 22 (keyset)", lambda db: usage.page(db, flt, deep)),
        ("30d key+model filter: totals", lambda db: usage.totals(db, model_flt)),
        ("30d key+model filter: first page", lambda db: usage.page(db, model_flt)),
        ("90d chart: spend by model/day", lambda db: usage.spend_by_model(db, flt90, "day")),
        ("90d totals", lambda db: usage.totals(db, flt90)),
        ("90d chart: tokens/requests/latency per day", lambda db: usage.series(db, flt90, "day")),
        ("90d per model and per key", lambda db: _by_model_and_key(db, flt90)),
        ("90d page: all its queries", lambda db: _usage_page(db, flt90)),
        ("today chart: per hour", lambda db: usage.series(db, today, rng_today.bucket)),
        ("overview (balance, today/7d/30d)", lambda db: usage.overview(db, 1, tz)),
    ]
    results = [await _time(label, runs, make) for label, make in queries]
    await dispose_engine()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--user-rows", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tz", type=int, default=120, help="browser offset, minutes east")
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=None, help="an existing database's URL")
    args = parser.parse_args()

    path = args.db or Path(tempfile.mkdtemp(prefix="aiusage-bench-usage-")) / "bench.db"
    os.environ["AIUSAGE_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("AIUSAGE_DATA_DIR", tempfile.mkdtemp(prefix="aiusage-bench-data-"))
    if not path.exists():
        began = time.perf_counter()
        _build(path, args.rows, args.user_rows)
        print(f"built {path} in {time.perf_counter() - began:.1f}s")
    else:
        _add_daily(path)
    server = None
    if args.database == "postgres" or args.postgres_url:
        url = args.postgres_url
        if url is None:
            from tests.helpers.pg import PostgresServer

            server = PostgresServer().start()
            url = server.create_database("bench")
        os.environ["AIUSAGE_DATABASE_URL"] = url
    try:
        _bench(path, args, os.environ["AIUSAGE_DATABASE_URL"])
    finally:
        if server is not None:
            server.stop()


def _bench(path: Path, args: argparse.Namespace, url: str) -> None:
    if url.startswith("postgres"):
        began = time.perf_counter()
        asyncio.run(_load_postgres(path, url))
        print(f"PostgreSQL loaded in {time.perf_counter() - began:.1f}s")
    db = sqlite3.connect(path)
    counts = [
        db.execute("SELECT COUNT(*) FROM usage").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM usage WHERE user_id = 1").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM usage_hourly").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM usage_hourly WHERE user_id = 1").fetchone()[0],
    ]
    db.close()
    print(
        f"usage rows: {counts[0]:,} (user: {counts[1]:,}); "
        f"usage_hourly rows: {counts[2]:,} (user: {counts[3]:,}); "
        f"{os.cpu_count()} CPUs, "
        + (url.split("@")[-1] if url.startswith("postgres") else f"SQLite {sqlite3.sqlite_version}")
    )
    results = asyncio.run(_run(args.runs, args.tz))
    width = max(len(r[0]) for r in results)
    print(f"{'query'.ljust(width)}  {'p50 ms':>8}  {'p95 ms':>8}  result")
    for label, p50, p95, what in results:
        flag = "" if p95 < 100 else "  (over 100 ms)"
        print(f"{label.ljust(width)}  {p50:8.1f}  {p95:8.1f}  {what}{flag}")


if __name__ == "__main__":
    main()
