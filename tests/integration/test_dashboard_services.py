"""The dashboard's queries (aiusage/services/usage.py) against the real, migrated database,
with rows and rollups written by the proxy's own rollup writer."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from aiusage.models import LATENCY_BUCKETS_MS
from aiusage.services import usage, usage_csv


def test_percentiles_from_the_latency_histogram():
    counts = [0] * len(LATENCY_BUCKETS_MS)
    assert usage.percentile_ms(counts, 0.5) is None
    counts[0] = 50  # 50 requests ≤ 100 ms
    counts[3] = 50  # 50 requests in (500, 1000] ms
    assert usage.percentile_ms(counts, 0.5) == 100
    assert usage.percentile_ms(counts, 0.95) == 950  # interpolated inside (500, 1000]
    counts[-1] = 1000  # the open-ended bucket reports its lower bound
    assert usage.percentile_ms(counts, 0.95) == LATENCY_BUCKETS_MS[-2]


def test_ranges_start_at_local_midnight():
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    # UTC+2: it is already March 11th, 01:30 local time.
    today = usage.resolve_range("today", 120, now=now)
    assert today.start == datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    assert today.end == datetime(2026, 3, 11, 22, 0, tzinfo=UTC)
    assert today.bucket == "hour"
    assert len(usage.bucket_labels(today)) == 24
    month = usage.resolve_range("30d", 120, now=now)
    assert (month.first_day, month.last_day) == (date(2026, 2, 10), date(2026, 3, 11))
    assert month.bucket == "day"
    assert usage.bucket_labels(month)[-1] == "2026-03-11"
    custom = usage.resolve_range(
        "custom", -300, custom_start=date(2026, 1, 5), custom_end=date(2026, 1, 1), now=now
    )
    assert custom.start == datetime(2026, 1, 1, 5, 0, tzinfo=UTC)  # UTC-5, dates sorted
    assert custom.end == datetime(2026, 1, 6, 5, 0, tzinfo=UTC)
    assert usage.clamp_offset("99999") == 14 * 60 and usage.clamp_offset("x") == 0


async def _write(user_id: int, key_id: int, rows: list[tuple[datetime, str, int, int]]):
    """Usage rows (time, model, charged nano, latency ms) plus their rollups, as the proxy's
    writer stores them."""
    from aiusage.db import session_scope
    from aiusage.models import UsageRecord
    from aiusage.proxy.rollups import add_rollups

    async with session_scope() as db:
        records = [
            UsageRecord(
                request_id=secrets.token_hex(12),
                created_at=at,
                user_id=user_id,
                proxy_key_id=key_id,
                provider="anthropic",
                endpoint="/v1/messages",
                model=model,
                key_source="own",
                input_tokens=100,
                output_tokens=10,
                cost_nano=charged * 20,
                charged_nano=charged,
                status=200,
                latency_ms=latency,
            )
            for at, model, charged, latency in rows
        ]
        db.add_all(records)
        await db.flush()
        columns = [c.name for c in UsageRecord.__table__.columns]
        await add_rollups(db, [{c: getattr(r, c) for c in columns} for r in records])


@pytest.fixture
async def two_users_with_usage(make_account):
    a = await make_account(usd="1")
    b = await make_account(usd="1")
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    yesterday = now - timedelta(days=1)
    await _write(
        a.id,
        a.key_id,
        [
            (now, "claude-sonnet-4-5", 1_000, 80),
            (now, "claude-haiku-4-5", 2_000, 700),
            (yesterday, "claude-sonnet-4-5", 4_000, 3000),
        ],
    )
    await _write(b.id, b.key_id, [(now, "claude-sonnet-4-5", 999_999, 80)])
    return a, b


async def test_totals_series_and_pages_are_per_user(two_users_with_usage):
    from aiusage.db import session_scope

    a, b = two_users_with_usage
    flt, rng = usage.filter_from_params(a.id, {"range": "7d", "tz": "0"})
    async with session_scope() as db:
        totals = await usage.totals(db, flt)
        assert (totals.requests, totals.charged_nano) == (3, 7_000)
        assert (totals.input_tokens, totals.output_tokens) == (300, 30)
        spend = await usage.spend_by_model(db, flt, "day")
        assert sum(s.charged_nano for s in spend) == 7_000
        assert {s.model for s in spend} == {"claude-sonnet-4-5", "claude-haiku-4-5"}
        buckets = await usage.series(db, flt, "day")
        labels = usage.bucket_labels(rng)
        assert [b_.label for b_ in buckets] == labels[-2:]  # yesterday and today
        assert [b_.totals.charged_nano for b_ in buckets] == [4_000, 3_000]

        first, cursor = await usage.page(db, flt, limit=2)
        assert [r.charged_nano for r in first] == [2_000, 1_000]  # newest first (by id)
        assert cursor is not None
        rest, cursor = await usage.page(db, flt, cursor, limit=2)
        assert [r.charged_nano for r in rest] == [4_000] and cursor is None
        assert all(r.key_name == "test key" for r in first + rest)

        only_haiku, _ = usage.filter_from_params(a.id, {"range": "7d", "model": "claude-haiku-4-5"})
        assert (await usage.totals(db, only_haiku)).charged_nano == 2_000

        # Another user's key id, as a filter, matches nothing of A's and nothing of B's.
        foreign, _ = usage.filter_from_params(a.id, {"range": "7d", "key": str(b.key_id)})
        assert (await usage.totals(db, foreign)).requests == 0
        assert (await usage.page(db, foreign))[0] == []
        assert await usage.spend_by_model(db, foreign, "day") == []

        options = await usage.filter_options(db, a.id, flt.start)
        assert [k[0] for k in options.keys] == [a.key_id]
        info = await usage.overview(db, a.id, 0)
        assert info.spend_30d_nano == 7_000 and info.requests_30d == 3
        assert info.balance_nano == 1_000_000_000 and info.active_keys == 1


async def test_local_time_moves_requests_between_days(make_account):
    from aiusage.db import session_scope

    account = await make_account(usd="1")
    today = datetime.now(UTC).date()
    late = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(hours=1)
    await _write(account.id, account.key_id, [(late, "claude-sonnet-4-5", 5, 90)])
    utc, _ = usage.filter_from_params(account.id, {"range": "7d", "tz": "0"})
    east, _ = usage.filter_from_params(account.id, {"range": "7d", "tz": "120"})
    async with session_scope() as db:
        (in_utc,) = await usage.series(db, utc, "day")
        (in_east,) = await usage.series(db, east, "day")
    # 23:00 UTC yesterday is 01:00 today two hours east of Greenwich.
    assert in_utc.label == (today - timedelta(days=1)).isoformat()
    assert in_east.label == today.isoformat()


async def test_csv_lines_are_exact_and_scoped(two_users_with_usage):
    from aiusage.db import session_scope

    a, _ = two_users_with_usage
    flt, _ = usage.filter_from_params(a.id, {"range": "7d"})
    lines = [line async for line in usage_csv.csv_lines(session_scope, flt)]
    text = "".join(lines).strip().splitlines()
    assert text[0].startswith("time_utc,key,provider,model")
    assert len(text) == 4
    assert "0.000001000" in text[2] or "0.000001000" in text[1]  # 1000 nano-USD, exact
    assert not any("0.000999999" in line for line in text)  # B's row is not there
