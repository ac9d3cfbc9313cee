"""The usage page's figures from the daily rollups (whole UTC days) plus the hourly ones (the
other hours) are exactly what summing the hourly rollups alone gives (the queries before
`usage_daily`, kept here as the reference), on random usage, for random ranges and filters,
in time zones of whole, half and quarter hours on both sides of UTC."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from aiusage.models import (
    DAILY_PHASES_H,
    LATENCY_BUCKETS_MS,
    ProxyKey,
    UsageDaily,
    UsageHourly,
    period_starts,
)
from aiusage.services import usage, usage_breakdown
from aiusage.services.usage import H, UsageFilter

OFFSETS = (0, 60, 120, -300, 330, 345, -570, 480, 720, -720, 765, 840, -840, 600, -60)
MODELS = (("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"), ("openai", "o3"))
SPAN_DAYS = 100
ONE_DAY = timedelta(days=1)


# --- the reference: every figure summed from the hourly rollups ---------------------------


def _bucket(f: UsageFilter, column, bucket: str, db) -> sa.ColumnElement:
    return usage.bucket_label(column, bucket, f.tz_offset_min, db.bind.dialect.name)


async def hourly_totals(db, f: UsageFilter) -> usage.Totals:
    row = (await db.execute(sa.select(*usage._sums()).where(*usage.hourly_where(f)))).one()
    return usage._totals_from(row)


async def hourly_series(db, f: UsageFilter, bucket: str) -> list[usage.BucketRow]:
    label = _bucket(f, H.hour, bucket, db).label("b")
    rows = await db.execute(
        sa.select(label, *usage._sums())
        .where(*usage.hourly_where(f))
        .group_by(label)
        .order_by(label)
    )
    return [usage.BucketRow(r[0], usage._totals_from(r[1:])) for r in rows]


async def hourly_spend(db, f: UsageFilter, bucket: str) -> list[usage.ModelSpend]:
    label = _bucket(f, H.hour, bucket, db).label("b")
    rows = await db.execute(
        sa.select(
            label,
            H.model,
            sa.func.sum(H.charged_nano),
            sa.func.sum(H.requests),
            sa.func.sum(H.cost_nano),
            sa.func.sum(H.fee_nano),
        )
        .where(*usage.hourly_where(f))
        .group_by(label, H.model)
        .order_by(label, H.model)
    )
    return [usage.ModelSpend(r[0], r[1], *(int(v) for v in r[2:])) for r in rows]


async def hourly_totals_by(db, f: UsageFilter, by: str) -> list[usage_breakdown.GroupTotals]:
    k = ProxyKey.__table__.c
    sums = (
        sa.func.sum(H.requests),
        sa.func.sum(H.errors),
        sa.func.sum(H.input_tokens + H.output_tokens + H.cache_write_tokens + H.cache_read_tokens),
        sa.func.sum(H.cost_nano),
        sa.func.sum(H.fee_nano),
        sa.func.sum(H.charged_nano),
    )
    if by == "model":
        statement = sa.select(H.model, sa.literal(""), *sums).group_by(H.model)
    else:
        statement = (
            sa.select(sa.func.coalesce(k.name, ""), sa.func.coalesce(k.prefix, ""), *sums)
            .select_from(
                sa.outerjoin(
                    UsageHourly.__table__,
                    ProxyKey.__table__,
                    sa.and_(k.id == H.proxy_key_id, k.user_id == H.user_id),
                )
            )
            .group_by(H.proxy_key_id, k.name, k.prefix)
        )
    groups = [
        usage_breakdown.GroupTotals(str(n), str(p), *(int(v) for v in values))
        for n, p, *values in await db.execute(statement.where(*usage.hourly_where(f)))
    ]
    return sorted(groups, key=lambda g: (-g.charged_nano, -g.requests, g.name))


async def hourly_options(db, user_id: int, start: datetime) -> list[tuple[str, str]]:
    rows = await db.execute(
        sa.select(H.provider, H.model)
        .where(H.user_id == user_id, H.hour >= start.replace(minute=0, second=0, microsecond=0))
        .group_by(H.provider, H.model)
    )
    return sorted(tuple(r) for r in rows)


# --- random usage -------------------------------------------------------------------------


async def _random_usage(scope, user_id: int, key_ids: list, rng: random.Random, now) -> None:
    """Usage rows over the last SPAN_DAYS days (some on hour and day boundaries), rolled up
    by the proxy's own writer function, in a few batches (as the writer books them)."""
    from aiusage.models import UsageRecord
    from aiusage.proxy.rollups import add_rollups

    first = (now - timedelta(days=SPAN_DAYS)).replace(minute=0, second=0, microsecond=0)
    times = [first + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400)) for _ in range(900)]
    times += [first + timedelta(hours=rng.randrange(SPAN_DAYS * 24)) for _ in range(150)]
    times += [t.replace(hour=0, minute=0, second=0, microsecond=0) for t in times[:80]]
    rng.shuffle(times)
    columns = [c.name for c in UsageRecord.__table__.columns]
    for batch in range(0, len(times), 300):
        async with scope() as db:
            records = []
            for at in times[batch : batch + 300]:
                provider, model = rng.choice(MODELS)
                charged = rng.randrange(0, 5_000_000_000)
                status = rng.choice((200, 200, 200, 200, 429, 500))
                records.append(
                    UsageRecord(
                        request_id=secrets.token_hex(12),
                        created_at=at,
                        user_id=user_id,
                        proxy_key_id=rng.choice(key_ids),
                        provider=provider,
                        endpoint="/v1/messages",
                        model=model,
                        key_source=rng.choice(("own", "byok")),
                        input_tokens=rng.randrange(100_000),
                        output_tokens=rng.randrange(10_000),
                        cache_write_5m_tokens=rng.randrange(1_000),
                        cache_write_1h_tokens=rng.randrange(1_000),
                        cache_read_tokens=rng.randrange(50_000),
                        cost_nano=rng.randrange(0, 5_000_000_000),
                        charged_nano=charged,
                        status=status,
                        error_type=None if status == 200 else "overloaded_error",
                        latency_ms=rng.choice(LATENCY_BUCKETS_MS[:-1]) + rng.randrange(-3, 3),
                    )
                )
            db.add_all(records)
            await db.flush()
            await add_rollups(db, [{c: getattr(r, c) for c in columns} for r in records])


def _filters(user_id: int, key_ids: list, rng: random.Random, now: datetime):
    """(filter, range) for every offset: the presets and random custom ranges, some
    narrowed by key, provider or model."""
    for offset in OFFSETS:
        ranges = [usage.resolve_range(p, offset, now=now) for p in ("today", "7d", "30d", "90d")]
        today = (now + timedelta(minutes=offset)).date()
        for _ in range(4):
            a = today - timedelta(days=rng.randrange(SPAN_DAYS + 5))
            b = a + timedelta(days=rng.choice((0, 1, 2, 3, 10, 40, 120)))
            ranges.append(usage.resolve_range("custom", offset, custom_start=a, custom_end=b))
        for rng_ in ranges:
            narrowing = rng.choice(
                [
                    {},
                    {},
                    {"proxy_key_id": rng.choice([k or 0 for k in key_ids])},
                    {"model": rng.choice(MODELS)[1]},
                    {"provider": "openai"},
                ]
            )
            yield (
                UsageFilter(user_id, rng_.start, rng_.end, tz_offset_min=offset, **narrowing),
                rng_,
            )


async def test_daily_rollups_give_the_hourly_figures(make_account):
    from aiusage.db import session_scope
    from aiusage.services import keys

    account = await make_account(usd="1")
    async with session_scope() as db:
        second, _ = await keys.create_proxy_key(db, account.id, "second key")
    await check_against_hourly(session_scope, account.id, [account.key_id, second.id, None])


async def check_against_hourly(scope, user_id: int, key_ids: list) -> None:
    """Writes random usage for the user (over their keys; None: no key) and compares every
    figure with the hourly reference (also used on PostgreSQL:
    tests/integration/test_postgres.py)."""
    rng = random.Random(15)
    now = datetime.now(UTC)
    await _random_usage(scope, user_id, key_ids, rng, now)

    async with scope() as db:
        # The writer's daily rows are its hourly rows summed per daily period of each phase.
        names = [c.name for c in UsageDaily.__table__.columns][6:]  # the sums
        by_day: dict = {}
        hourly = (
            await db.execute(sa.select(UsageHourly).where(UsageHourly.user_id == user_id))
        ).scalars()
        for h in hourly:
            for start in period_starts(h.hour):
                sums = by_day.setdefault((h.proxy_key_id, h.provider, h.model, start), {})
                for n in names:
                    sums[n] = sums.get(n, 0) + getattr(h, n)
        daily = (
            await db.execute(sa.select(UsageDaily).where(UsageDaily.user_id == user_id))
        ).scalars()
        stored = {}
        for d in daily:
            stored[(d.proxy_key_id, d.provider, d.model, d.day)] = {n: getattr(d, n) for n in names}
        assert stored == by_day and "requests" in names and "lat_9" in names

        checked = 0
        for f, rng_ in _filters(user_id, key_ids, rng, now):
            context = (f.tz_offset_min, f.start, f.end, f.proxy_key_id, f.provider, f.model)
            assert await usage.totals(db, f) == await hourly_totals(db, f), context
            for bucket in ("day", rng_.bucket):
                assert await usage.series(db, f, bucket) == await hourly_series(db, f, bucket), (
                    context,
                    bucket,
                )
                assert await usage.spend_by_model(db, f, bucket) == await hourly_spend(
                    db, f, bucket
                ), (context, bucket)
            for by in ("model", "key"):
                assert await usage_breakdown.totals_by(db, f, by) == await hourly_totals_by(
                    db, f, by
                ), (context, by)
            options = await usage.filter_options(db, user_id, f.start)
            expected = await hourly_options(db, user_id, f.start)
            assert options.providers == sorted({p for p, _ in expected}), context
            assert options.models == sorted({m for _, m in expected}), context
            checked += 1
        assert checked == len(OFFSETS) * 8
        # Not vacuous: the 90-day figures hold most of the usage, over both tables.
        f90, _ = usage.filter_from_params(user_id, {"range": "90d", "tz": "345"})
        assert (await usage.totals(db, f90)).requests > 800


def test_local_days_are_near_the_periods_of_a_phase():
    """For every offset, the periods of some phase lend at most 3 hours (the same ones every
    period) to the local day before or after the one holding their middle; none at UTC."""
    for offset in range(-840, 841, 15):
        fewest = 24
        for phase in DAILY_PHASES_H:
            start = datetime(2000, 1, 1, phase)
            local = [(start + timedelta(hours=i, minutes=offset)).date() for i in range(24)]
            moved = [i for i in range(24) if local[i] != local[12]]
            assert {d - local[12] for d in local} <= {timedelta(0), ONE_DAY, -ONE_DAY}
            assert not moved or moved in (list(range(len(moved))), list(range(24 - len(moved), 24)))
            fewest = min(fewest, len(moved))
        assert fewest <= 3 and (offset != 0 or fewest == 0)
