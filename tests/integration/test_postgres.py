"""The same code on PostgreSQL: a real server from Debian's packages (tests/helpers/pg.py), the real
migrations, the standalone proxy with two workers over one database, the dashboard queries
(which use PostgreSQL's own to_char/make_interval) and the exactly-once ledger references.

The test process's own settings point at the suite's SQLite database; here the service
functions get sessions of an engine on the PostgreSQL database instead, and the
subprocesses (`aiusage`, `alembic`) get AIUSAGE_DATABASE_URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import anthropic
import httpx
import openai
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from aiusage.models import (
    LATENCY_BUCKETS_MS,
    Hold,
    LedgerEntry,
    OutboxEmail,
    ProxyKey,
    UsageHourly,
    UsageRecord,
    User,
)
from aiusage.services import accounts, billing, keys, usage, usage_csv
from tests.conftest import RUN_DIR, TEST_ENV
from tests.fakes.upstream import FakeUpstream
from tests.helpers.pg import PostgresServer, scope_of
from tests.helpers.support import ROOT, free_port, start_standalone_proxy, stop_gracefully

ANTHROPIC_KEY = "sk-ant-api03-" + "p" * 40 + "PgPg"
REPLY = "Hello from the fake upstream."


def run(*command: str, url: str, **env: str) -> subprocess.CompletedProcess:
    """An `aiusage` or `alembic` command on the PostgreSQL database at `url`."""
    done = subprocess.run(
        [str(ROOT / ".venv/bin" / command[0]), *command[1:]],
        cwd=ROOT,
        env={**os.environ, **TEST_ENV, "AIUSAGE_DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app_db(pg) -> str:
    """The app's database, built by `aiusage db upgrade`."""
    url = pg.create_database("aiusage")
    run("aiusage", "db", "upgrade", url=url)
    return url


@pytest.fixture(scope="module")
async def sessions(app_db) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("postgresql+asyncpg://" + app_db.split("://", 1)[1])
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def new_account(
    sessions, nano: int, *, anthropic_key: bool = False
) -> tuple[int, str, str, int]:
    """(user id, email, proxy key, proxy key id) of a verified account holding `nano`."""
    email = f"pg-{secrets.token_hex(6)}@example.com"
    async with scope_of(sessions)() as db:
        user = await accounts.create_user(db, email, secrets.token_urlsafe(12), verified=True)
        if nano:
            await billing.grant(db, user.id, nano, "test credit")
        key, plaintext = await keys.create_proxy_key(db, user.id, "pg key")
        if anthropic_key:
            await keys.set_provider_key(db, user.id, "anthropic", ANTHROPIC_KEY)
    return user.id, email, plaintext, key.id


# --- 1. migrations ------------------------------------------------------------------------


def test_migrations_build_the_models_schema_and_undo_cleanly(pg):
    url = pg.create_database("migrations")
    run("aiusage", "db", "upgrade", url=url)
    # The data migrations seeded the price table, stamped with the current UTC time (the
    # server's own time zone is far from UTC: a naive time would be read as local time).
    count, skew = pg.psql(
        "migrations",
        "select count(*), max(abs(extract(epoch from now() - updated_at))) from model_prices",
    ).split("|")
    assert int(count) == 33 and float(skew) < 600
    check = run("alembic", "check", url=url)
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    run("alembic", "downgrade", "base", url=url)
    tables = pg.psql(
        "migrations", "select string_agg(tablename, ',') from pg_tables where schemaname='public'"
    )
    assert tables == "alembic_version"
    run("alembic", "upgrade", "head", url=url)
    run("alembic", "check", url=url)
    assert pg.psql("migrations", "select count(*) from model_prices") == "33"


# --- 2. the standalone proxy, two workers, one database -----------------------------------


def start_proxy(
    port: int, url: str, upstream: str, workers: int = 2, **extra: str
) -> subprocess.Popen:
    env = {
        **os.environ,
        **TEST_ENV,
        "AIUSAGE_DATABASE_URL": url,
        "AIUSAGE_ANTHROPIC_BASE_URL": upstream,
        "AIUSAGE_OPENAI_BASE_URL": upstream,
        **extra,
    }
    return start_standalone_proxy(port, RUN_DIR / f"proxy-pg-{port}.log", env, workers=workers)


stop_proxy = stop_gracefully


KINDS = ("anthropic", "anthropic-stream", "openai", "openai-stream")
PROMPT = [{"role": "user", "content": "hi"}]


async def call(kind: str, ant: anthropic.AsyncAnthropic, oai: openai.AsyncOpenAI):
    """(kind, status, reply text or error body) of one request through the proxy."""
    try:
        if kind == "anthropic":
            message = await ant.messages.create(
                model="claude-haiku-4-5", max_tokens=50, messages=PROMPT
            )
            return kind, 200, message.content[0].text
        if kind == "anthropic-stream":
            async with ant.messages.stream(
                model="claude-haiku-4-5", max_tokens=50, messages=PROMPT
            ) as stream:
                return kind, 200, await stream.get_final_text()
        if kind == "openai":
            completion = await oai.chat.completions.create(
                model="gpt-4o-mini", max_tokens=50, messages=PROMPT
            )
            return kind, 200, completion.choices[0].message.content
        chunks = await oai.chat.completions.create(
            model="gpt-4o-mini", max_tokens=50, messages=PROMPT, stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        return kind, 200, text
    except (anthropic.APIStatusError, openai.APIStatusError) as error:
        return kind, error.status_code, error.response.json()


async def settled(sessions, user_id: int, requests: int, timeout: float = 20) -> None:
    """Waits until the proxy has written `requests` usage rows and released every hold."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as db:
            rows = (
                await db.execute(sa.select(sa.func.count()).where(UsageRecord.user_id == user_id))
            ).scalar_one()
            user_held = (
                await db.execute(sa.select(User.held_nano).where(User.id == user_id))
            ).scalar_one()
            key_held = (
                await db.execute(
                    sa.select(sa.func.sum(ProxyKey.held_nano)).where(ProxyKey.user_id == user_id)
                )
            ).scalar_one()
        if rows == requests and user_held == 0 and key_held == 0:
            return
        assert time.monotonic() < deadline, f"{rows}/{requests} rows, held {user_held}/{key_held}"
        await asyncio.sleep(0.05)


async def test_two_proxy_workers_charge_exactly_on_postgres(app_db, sessions):
    initial = 400_000  # nano-USD: a few dozen requests' worth, a handful of worst-case holds
    user_id, _, proxy_key, key_id = await new_account(sessions, initial, anthropic_key=True)
    upstream = FakeUpstream().start()
    port = free_port()
    process = start_proxy(port, app_db, upstream.url)
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[str, int, object]] = []
    try:
        async with (
            anthropic.AsyncAnthropic(
                api_key=proxy_key, base_url=f"{base}/api", max_retries=0, timeout=30
            ) as ant,
            openai.AsyncOpenAI(
                api_key=proxy_key, base_url=f"{base}/api/v1", max_retries=0, timeout=30
            ) as oai,
        ):
            # Concurrent bursts until a whole burst is refused while nothing is held.
            for _ in range(40):
                burst = await asyncio.gather(*(call(KINDS[i % 4], ant, oai) for i in range(32)))
                results += burst
                await settled(sessions, user_id, sum(1 for r in results if r[1] == 200))
                if all(status == 402 for _, status, _ in burst):
                    break
            else:
                pytest.fail("the balance never ran out")
    finally:
        stop_proxy(process)
        upstream.stop()

    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) == {200, 402}, statuses
    ok = [r for r in results if r[1] == 200]
    assert {kind for kind, _, _ in ok} == set(KINDS)  # each kind was served and charged
    assert all(text == REPLY for _, _, text in ok)
    for kind, _, body in (r for r in results if r[1] == 402):
        if kind.startswith("anthropic"):
            assert body["type"] == "error" and body["error"]["type"] == "billing_error"
        else:
            assert body["error"]["code"] == "insufficient_quota"
    assert len(upstream.requests) == len(ok)  # a refused request is never forwarded

    async with sessions() as db:
        rows = list(
            (await db.execute(sa.select(UsageRecord).where(UsageRecord.user_id == user_id)))
            .scalars()
            .all()
        )
        ledger = list(
            (await db.execute(sa.select(LedgerEntry).where(LedgerEntry.user_id == user_id)))
            .scalars()
            .all()
        )
        hourly = list(
            (await db.execute(sa.select(UsageHourly).where(UsageHourly.user_id == user_id)))
            .scalars()
            .all()
        )
        balance, held = await billing.balance(db, user_id)
        spent = (
            await db.execute(sa.select(ProxyKey.spent_nano).where(ProxyKey.id == key_id))
        ).scalar_one()
        today = usage.filter_from_params(user_id, {"range": "7d"})[0]
        dashboard = await usage.totals(db, today)

    # One usage row per served request, all charged; none for the refused ones.
    assert len(rows) == len(ok)
    assert all(r.status == 200 and r.error_type is None and r.charged_nano > 0 for r in rows)
    assert all((r.input_tokens, r.output_tokens) == (25, 12) for r in rows)
    assert Counter((r.provider, r.streamed, r.key_source) for r in rows) == Counter(
        (
            kind.split("-")[0],
            kind.endswith("stream"),
            "byok" if kind.startswith("anthropic") else "platform",
        )
        for kind, _, _ in ok
    )
    assert all(r.created_at.tzinfo is not None for r in rows)
    charged = sum(r.charged_nano for r in rows)

    # The ledger: the grant, then one usage row per request, summing to the balance.
    assert held == 0 and balance >= 0
    assert balance == sum(e.amount_nano for e in ledger) == initial - charged
    assert min(e.balance_after_nano for e in ledger) >= 0
    usage_entries = {e.usage_id: e.amount_nano for e in ledger if e.kind == billing.USAGE}
    assert usage_entries == {r.id: -r.charged_nano for r in rows}
    assert spent == charged
    assert balance < initial // 4  # drained: the last burst was refused with nothing held

    # The rollups (PostgreSQL's INSERT … ON CONFLICT DO UPDATE) add up to the rows.
    def sums(items, **fields):
        out: dict[tuple, Counter] = {}
        for item in items:
            entry = out.setdefault((item.provider, item.model), Counter())
            for name, get in fields.items():
                entry[name] += get(item)
        return out

    assert sums(
        hourly,
        requests=lambda h: h.requests,
        errors=lambda h: h.errors,
        input=lambda h: h.input_tokens,
        output=lambda h: h.output_tokens,
        cost=lambda h: h.cost_nano,
        charged=lambda h: h.charged_nano,
        latency=lambda h: h.latency_ms_sum,
        histogram=lambda h: sum(getattr(h, f"lat_{i}") for i in range(len(LATENCY_BUCKETS_MS))),
    ) == sums(
        rows,
        requests=lambda r: 1,
        errors=lambda r: 0,
        input=lambda r: r.input_tokens,
        output=lambda r: r.output_tokens,
        cost=lambda r: r.cost_nano,
        charged=lambda r: r.charged_nano,
        latency=lambda r: r.latency_ms,
        histogram=lambda r: 1,
    )
    assert (dashboard.requests, dashboard.charged_nano) == (len(rows), charged)

    log = (RUN_DIR / f"proxy-pg-{port}.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


async def test_a_live_instance_books_the_holds_of_a_killed_one(app_db, sessions):
    """Two proxy instances on one database; one is killed (SIGKILL) with streams in flight.
    The other, still serving, books them as interrupted within a few leases: no hold is left,
    balance == ledger, one usage row per forwarded request."""
    user_id, _, proxy_key, _ = await new_account(sessions, 5_000_000_000, anthropic_key=True)
    upstream = FakeUpstream().start()
    ports = free_port(), free_port()
    doomed, survivor = (
        start_proxy(port, app_db, upstream.url, workers=1, AIUSAGE_HOLD_LEASE_SECONDS="2")
        for port in ports
    )
    headers = {"x-api-key": proxy_key, "anthropic-version": "2023-06-01"}
    body = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": PROMPT}
    try:
        upstream.behavior.chunk_delay = 0.5
        upstream.behavior.n_deltas = 20
        async with httpx.AsyncClient(timeout=30) as client:

            async def stream() -> None:
                with contextlib.suppress(httpx.HTTPError):
                    async with client.stream(
                        "POST",
                        f"http://127.0.0.1:{ports[0]}/api/v1/messages",
                        json={**body, "stream": True},
                        headers=headers,
                    ) as response:
                        async for _ in response.aiter_bytes():
                            pass

            streams = [asyncio.create_task(stream()) for _ in range(6)]
            deadline = time.monotonic() + 15
            while len(upstream.requests) < 6:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=10)
            await asyncio.gather(*streams)
            upstream.behavior.chunk_delay = 0
            for _ in range(4):  # the survivor serves on meanwhile
                served = await client.post(
                    f"http://127.0.0.1:{ports[1]}/api/v1/messages", json=body, headers=headers
                )
                assert served.status_code == 200
        await settled(sessions, user_id, 10, timeout=60)
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                stop_proxy(process)
        upstream.stop()
    async with sessions() as db:
        rows = list(
            (await db.execute(sa.select(UsageRecord).where(UsageRecord.user_id == user_id)))
            .scalars()
            .all()
        )
        holds = (
            await db.execute(sa.select(sa.func.count()).where(Hold.user_id == user_id))
        ).scalar_one()
        balance, held = await billing.balance(db, user_id)
        ledger = await billing.ledger_sum(db, user_id)
    assert len(rows) == len(upstream.requests) == 10
    assert sum(row.error_type == "interrupted" for row in rows) == 6
    assert holds == held == 0
    assert balance == ledger == 5_000_000_000 - sum(row.charged_nano for row in rows)


# --- 3. the dashboard queries on PostgreSQL -----------------------------------------------


async def write_usage(sessions, user_id: int, rows: list[tuple]) -> list[int]:
    """Usage rows (time, key id, provider, model, charged nano, latency ms) plus their
    rollups, as the proxy's writer stores them; returns the rows' ids."""
    from aiusage.proxy.rollups import add_rollups

    async with scope_of(sessions)() as db:
        records = [
            UsageRecord(
                request_id=secrets.token_hex(12),
                created_at=at,
                user_id=user_id,
                proxy_key_id=key_id,
                provider=provider,
                endpoint="/v1/messages",
                model=model,
                key_source="byok",
                input_tokens=100,
                output_tokens=10,
                cost_nano=charged * 20,
                charged_nano=charged,
                status=200,
                latency_ms=latency,
            )
            for at, key_id, provider, model, charged, latency in rows
        ]
        for record in records:  # one by one: ids in this order
            db.add(record)
            await db.flush()
        columns = [c.name for c in UsageRecord.__table__.columns]
        await add_rollups(db, [{c: getattr(r, c) for c in columns} for r in records])
        return [r.id for r in records]


async def test_dashboard_queries_on_postgres(app_db, sessions):
    user_id, _, _, key_a = await new_account(sessions, 1_000_000_000)
    other_id, _, _, other_key = await new_account(sessions, 1_000_000_000)
    async with scope_of(sessions)() as db:
        key_b = (await keys.create_proxy_key(db, user_id, "second key"))[0].id

    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)  # today, UTC
    d0, d1 = midnight.date(), (midnight - timedelta(days=1)).date()
    sonnet, haiku, mini = "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o-mini"
    r1, r2, r2b, r3, _r4 = await write_usage(
        sessions,
        user_id,
        [
            (midnight - timedelta(hours=13, minutes=45), key_a, "anthropic", sonnet, 4_000, 80),
            (midnight - timedelta(hours=1), key_a, "anthropic", haiku, 2_000, 700),
            (midnight - timedelta(hours=1), key_a, "anthropic", haiku, 500, 90),  # same time
            (midnight + timedelta(minutes=20), key_b, "openai", mini, 1_000, 3000),
            (midnight - timedelta(days=10), key_a, "anthropic", sonnet, 8_000, 80),
        ],
    )
    await write_usage(
        sessions,
        other_id,
        [(midnight + timedelta(minutes=20), other_key, "anthropic", sonnet, 999, 80)],
    )

    week, week_range = usage.filter_from_params(user_id, {"range": "7d", "tz": "0"})
    async with sessions() as db:
        totals = await usage.totals(db, week)
        assert (totals.requests, totals.charged_nano, totals.cost_nano) == (4, 7_500, 150_000)
        assert (totals.input_tokens, totals.output_tokens, totals.errors) == (400, 40, 0)
        histogram = [0] * len(LATENCY_BUCKETS_MS)
        for latency in (80, 700, 90, 3000):
            histogram[next(i for i, b in enumerate(LATENCY_BUCKETS_MS) if latency <= b)] += 1
        assert (totals.p50_ms, totals.p95_ms) == (
            usage.percentile_ms(histogram, 0.5),
            usage.percentile_ms(histogram, 0.95),
        )

        async def by_day(tz: int) -> list[tuple[str, int, int]]:
            flt, rng = usage.filter_from_params(user_id, {"range": "7d", "tz": str(tz)})
            buckets = await usage.series(db, flt, "day")
            assert {b.label for b in buckets} <= set(usage.bucket_labels(rng))
            return [(b.label, b.totals.requests, b.totals.charged_nano) for b in buckets]

        # Local days, computed in SQL: yesterday 23:00 UTC is today two hours east.
        assert await by_day(0) == [(d1.isoformat(), 3, 6_500), (d0.isoformat(), 1, 1_000)]
        assert await by_day(120) == [(d1.isoformat(), 1, 4_000), (d0.isoformat(), 3, 3_500)]
        assert await by_day(-330) == [(d1.isoformat(), 4, 7_500)]

        # Local hours, with a half-hour offset (UTC+5:30), over a two-day custom range.
        two_days, rng = usage.filter_from_params(
            user_id, {"range": "custom", "from": d1.isoformat(), "to": d0.isoformat(), "tz": "330"}
        )
        assert rng.bucket == "hour"
        hours = await usage.series(db, two_days, "hour")
        assert [(b.label, b.totals.charged_nano) for b in hours] == [
            (f"{d1} 15:00", 4_000),
            (f"{d0} 04:00", 2_500),
            (f"{d0} 05:00", 1_000),
        ]
        assert {b.label for b in hours} <= set(usage.bucket_labels(rng))

        spend = await usage.spend_by_model(db, week, "day")
        assert [(s.label, s.model, s.charged_nano, s.requests) for s in spend] == [
            (d1.isoformat(), haiku, 2_500, 2),
            (d1.isoformat(), sonnet, 4_000, 1),
            (d0.isoformat(), mini, 1_000, 1),
        ]

        only_b, _ = usage.filter_from_params(user_id, {"range": "7d", "key": str(key_b)})
        assert (await usage.totals(db, only_b)).charged_nano == 1_000
        only_openai, _ = usage.filter_from_params(user_id, {"range": "7d", "provider": "openai"})
        assert (await usage.totals(db, only_openai)).requests == 1
        foreign, _ = usage.filter_from_params(user_id, {"range": "7d", "key": str(other_key)})
        assert (await usage.totals(db, foreign)).requests == 0

        info = await usage.overview(db, user_id, 0)
        assert (info.spend_today_nano, info.spend_7d_nano, info.spend_30d_nano) == (
            1_000,
            7_500,
            15_500,
        )
        assert (info.requests_30d, info.tokens_30d, info.active_keys) == (5, 550, 2)
        assert info.balance_nano == 1_000_000_000

        options = await usage.filter_options(db, user_id, week.start)
        assert sorted(k[0] for k in options.keys) == sorted([key_a, key_b])
        assert (options.providers, options.models) == (
            ["anthropic", "openai"],
            [haiku, sonnet, mini],
        )

        # Keyset paging over timestamptz, newest first, ties broken by id.
        seen, cursor = [], None
        while True:
            rows, cursor = await usage.page(db, week, cursor, limit=1)
            seen += rows
            if cursor is None:
                break
        assert [r.id for r in seen] == [r3, r2b, r2, r1]
        assert seen[0].created_at == midnight + timedelta(minutes=20)
        assert seen[0].key_name == "second key" and seen[-1].key_name == "pg key"

    lines = "".join([line async for line in usage_csv.csv_lines(sessions, week)]).splitlines()
    assert len(lines) == 5 and lines[0].startswith("time_utc,")
    stamp = (midnight + timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
    assert lines[1].startswith(f"{stamp},second key,openai,{mini},")
    assert ",0.000001000," in lines[1]  # 1000 nano-USD charged, exact
    assert week_range.bucket == "day"


async def test_daily_rollups_give_the_hourly_figures_on_postgres(app_db, sessions):
    """The usage page's figures from the daily and hourly rollups equal the hourly ones'
    alone, on random usage, in many time zones (tests/integration/test_usage_daily.py), on
    PostgreSQL (its own day and hour labels, in a server time zone far from UTC)."""
    from tests.integration.test_usage_daily import check_against_hourly

    user_id, _, _, key_a = await new_account(sessions, 1_000_000_000)
    async with scope_of(sessions)() as db:
        key_b = (await keys.create_proxy_key(db, user_id, "second key"))[0].id
    await check_against_hourly(scope_of(sessions), user_id, [key_a, key_b, None])


def test_migration_0015_backfills_the_daily_rollups(pg):
    """Per 24-hour period of each phase (UTC), whatever the server's own time zone
    (Pacific/Chatham here)."""
    url = pg.create_database("backfill")
    run("alembic", "upgrade", "0014", url=url)
    sums = ("requests", "errors", "input_tokens", "output_tokens", "cache_write_tokens")
    sums += ("cache_read_tokens", "cost_nano", "charged_nano", "fee_nano", "latency_ms_sum")
    sums += tuple(f"lat_{i}" for i in range(len(LATENCY_BUCKETS_MS)))
    rows = [("2026-03-01 23:00", 1), ("2026-03-02 00:00", 2), ("2026-03-02 23:00", 4)]
    values = ", ".join(
        f"(1, 0, 'anthropic', 'm', '{hour}+00', {n}, " + ", ".join(["3"] * (len(sums) - 1)) + ")"
        for hour, n in rows
    )
    pg.psql(
        "backfill",
        "INSERT INTO users (id, email, created_at, locale, balance_nano, held_nano)"
        " VALUES (1, 'backfill@example.com', now(), 'en', 0, 0);"
        f" INSERT INTO usage_hourly (user_id, proxy_key_id, provider, model, hour,"
        f" {', '.join(sums)}) VALUES {values}",
    )
    run("alembic", "upgrade", "head", url=url)
    daily = pg.psql(
        "backfill",
        "SELECT to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), requests, lat_9"
        " FROM usage_daily ORDER BY day",
    )
    assert daily.splitlines() == [
        "2026-03-01 00:00|1|3",
        "2026-03-01 06:00|3|6",
        "2026-03-01 12:00|3|6",
        "2026-03-01 18:00|3|6",
        "2026-03-02 00:00|6|6",
        "2026-03-02 06:00|4|3",
        "2026-03-02 12:00|4|3",
        "2026-03-02 18:00|4|3",
    ]


# --- 4. the ledger's exactly-once references ----------------------------------------------


async def test_ledger_references_are_unique_and_a_topup_is_credited_once(
    app_db, sessions, monkeypatch
):
    user_id, email, _, _ = await new_account(sessions, 0)
    scope = scope_of(sessions)
    async with scope() as db:
        await billing.grant(db, user_id, 5_000, "adjustment", reference="pg-ref-1")
    with pytest.raises(IntegrityError):
        async with scope() as db:
            await billing.book(db, user_id, 5_000, billing.GRANT, "again", reference="pg-ref-1")

    # Five concurrent deliveries of the same paid top-up: one credit, one receipt.
    monkeypatch.setattr(billing, "session_scope", scope)
    outcomes = await asyncio.gather(
        *(
            billing.credit_topup(
                user_id,
                10_000_000_000,
                "checkout:cs_pg_1",
                event={"id": f"evt_pg_{i}", "type": "checkout.session.completed"},
            )
            for i in range(5)
        )
    )
    assert sorted(outcomes) == [False] * 4 + [True]
    assert await billing.debit(user_id, 1_000, "charge_refund:ch_pg:1000", "Refund") is True
    assert await billing.debit(user_id, 1_000, "charge_refund:ch_pg:1000", "Refund") is False

    async with sessions() as db:
        balance, held = await billing.balance(db, user_id)
        assert balance == await billing.ledger_sum(db, user_id) == 5_000 + 10_000_000_000 - 1_000
        assert held == 0
        references = (
            (
                await db.execute(
                    sa.select(LedgerEntry.reference)
                    .where(LedgerEntry.user_id == user_id)
                    .order_by(LedgerEntry.id)
                )
            )
            .scalars()
            .all()
        )
        assert references == ["pg-ref-1", "checkout:cs_pg_1", "charge_refund:ch_pg:1000"]
        receipts = (
            await db.execute(sa.select(sa.func.count()).where(OutboxEmail.to_address == email))
        ).scalar_one()
        assert receipts == 1


async def test_the_audit_log_refuses_updates_and_deletes_on_postgres(sessions):
    from aiusage.models import AuditEntry
    from aiusage.services import audit, roles

    async with scope_of(sessions)() as db:
        entry_id = (await audit.record(db, roles.CLI, "test.entry", "user", 0, reason="kept")).id
    for statement in (sa.update(AuditEntry).values(reason="changed"), sa.delete(AuditEntry)):
        with pytest.raises(sa.exc.DBAPIError, match="the audit log is append-only"):
            async with scope_of(sessions)() as db:
                await db.execute(statement)
    async with sessions() as db:
        assert (await db.get(AuditEntry, entry_id)).reason == "kept"
