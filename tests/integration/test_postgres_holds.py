"""The hold's PostgreSQL statement (aiusage/proxy/pg_holds.py) and the writer's plain-SQL
batch (plain_batch.py) on a real server: concurrent holds never overspend a balance or a
key's limits, a refusal holds nothing, `users.held_nano` / `proxy_keys.held_nano` always
equal the sum of the hold rows, and a batch books each hold exactly once with balance =
ledger.

The holds run concurrently on several asyncpg connections (as several instances would), not
behind the process's write lock: the conditional UPDATEs alone must decide."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aiusage.models import Hold
from aiusage.proxy import pg_holds, plain_batch
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.holds import KeyLimitReached, NoCredit, now_ms
from aiusage.proxy.reclaim import interrupted
from aiusage.proxy.usage_writer import Settlement
from aiusage.services import key_rules, pricing
from tests.helpers.pg import scope_of
from tests.integration import test_postgres as on_postgres
from tests.integration.test_postgres import new_account

# test_postgres.py's fixtures: the server, the app's migrated database, sessions on it.
pg, app_db, sessions = on_postgres.pg, on_postgres.app_db, on_postgres.sessions

AMOUNT = 1_000_000  # nano-USD per hold
OWNER = "p-test"


@pytest.fixture
async def pool(app_db) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(app_db, min_size=0, max_size=8)
    yield pool
    await pool.close()


def grant_for(
    user_id: int,
    key_id: int,
    spend_limit_nano: int | None = None,
    budget_nano: int | None = None,
    budget_period: str | None = None,
) -> KeyGrant:
    return KeyGrant(
        key_id, user_id, None, spend_limit_nano, {},
        budget_nano=budget_nano, budget_period=budget_period,
    )  # fmt: skip


def row_for(grant: KeyGrant, amount: int = AMOUNT) -> tuple[object, ...]:
    """A hold row in holds.py's order."""
    key_amount = amount if grant.holds_on_key else 0
    lease = now_ms() + 60_000
    return (
        "req-" + secrets.token_hex(8), grant.user_id, grant.key_id, amount, key_amount, OWNER,
        lease, now_ms(), "anthropic", "messages", "claude-test", True, 100,
    )  # fmt: skip


async def attempt(pool: asyncpg.Pool, grant: KeyGrant, now: datetime | None = None) -> str:
    try:
        await pg_holds.place(pool, grant, row_for(grant), now or datetime.now(UTC))
    except NoCredit:
        return "no credit"
    except KeyLimitReached:
        return "key limit"
    return "held"


async def state(pool: asyncpg.Pool, user_id: int, key_id: int) -> dict[str, int]:
    """The user's and key's held_nano next to the sums of their hold rows."""
    async with pool.acquire() as db:
        found = await db.fetchrow(
            "SELECT (SELECT held_nano FROM users WHERE id = $1) AS user_held,"
            " (SELECT held_nano FROM proxy_keys WHERE id = $2) AS key_held,"
            " (SELECT coalesce(sum(amount_nano), 0) FROM holds WHERE user_id = $1) AS rows_sum,"
            " (SELECT coalesce(sum(key_amount_nano), 0) FROM holds WHERE proxy_key_id = $2)"
            " AS key_rows_sum, (SELECT count(*) FROM holds WHERE user_id = $1) AS rows",
            user_id,
            key_id,
        )
    return dict(found)


async def test_concurrent_holds_never_overspend_the_balance(pool, sessions):
    user_id, _, _, key_id = await new_account(sessions, 10 * AMOUNT)
    grant = grant_for(user_id, key_id)
    outcomes = await asyncio.gather(*(attempt(pool, grant) for _ in range(30)))
    assert outcomes.count("held") == 10
    assert outcomes.count("no credit") == 20
    assert await state(pool, user_id, key_id) == {
        "user_held": 10 * AMOUNT,
        "key_held": 0,  # a key without limits holds nothing of its own
        "rows_sum": 10 * AMOUNT,
        "key_rows_sum": 0,
        "rows": 10,
    }
    async with pool.acquire() as db:  # the rows name their owner and carry a live lease
        rows = await db.fetch("SELECT owner, lease_until_ms FROM holds WHERE user_id = $1", user_id)
    assert {r["owner"] for r in rows} == {OWNER}
    assert all(r["lease_until_ms"] > now_ms() for r in rows)


async def day_budget(pool, user_id: int, key_id: int, budget: int) -> KeyGrant:
    """Gives the key a day budget, in the database and in its grant."""
    async with pool.acquire() as db:
        await db.execute(
            "UPDATE proxy_keys SET budget_nano = $1, budget_period = 'day' WHERE id = $2",
            budget,
            key_id,
        )
    return grant_for(user_id, key_id, budget_nano=budget, budget_period="day")


async def test_a_key_budget_refuses_and_holds_nothing_on_the_balance(pool, sessions):
    user_id, _, _, key_id = await new_account(sessions, 100 * AMOUNT)
    grant = await day_budget(pool, user_id, key_id, 3 * AMOUNT)
    outcomes = await asyncio.gather(*(attempt(pool, grant) for _ in range(12)))
    assert outcomes.count("held") == 3
    assert outcomes.count("key limit") == 9
    assert await state(pool, user_id, key_id) == {
        "user_held": 3 * AMOUNT,  # the refused holds' balance part was rolled back
        "key_held": 3 * AMOUNT,
        "rows_sum": 3 * AMOUNT,
        "key_rows_sum": 3 * AMOUNT,
        "rows": 3,
    }
    with pytest.raises(KeyLimitReached, match="taken by requests in flight"):
        await pg_holds.place(pool, grant, row_for(grant), datetime.now(UTC))


async def test_a_spend_limit_counts_what_was_spent(pool, sessions):
    user_id, _, _, key_id = await new_account(sessions, 100 * AMOUNT)
    async with pool.acquire() as db:
        await db.execute(
            "UPDATE proxy_keys SET spend_limit_nano = $1, spent_nano = $2 WHERE id = $3",
            5 * AMOUNT,
            3 * AMOUNT,
            key_id,
        )
    grant = grant_for(user_id, key_id, spend_limit_nano=5 * AMOUNT)
    outcomes = await asyncio.gather(*(attempt(pool, grant) for _ in range(6)))
    assert sorted(outcomes) == ["held"] * 2 + ["key limit"] * 4
    with pytest.raises(KeyLimitReached, match="spend limit"):
        await pg_holds.place(pool, grant, row_for(grant), datetime.now(UTC))
    found = await state(pool, user_id, key_id)
    assert found["user_held"] == found["rows_sum"] == 2 * AMOUNT
    assert found["key_held"] == found["key_rows_sum"] == 2 * AMOUNT


async def test_a_new_period_starts_the_budget_again(pool, sessions):
    """A hold that finds the key's period over restarts its spend at 0, as holds.py's does."""
    user_id, _, _, key_id = await new_account(sessions, 100 * AMOUNT)
    now = datetime.now(UTC)
    yesterday = key_rules.period_start_ms("day", now - timedelta(days=1))
    async with pool.acquire() as db:
        await db.execute(
            "UPDATE proxy_keys SET budget_nano = $1, budget_period = 'day',"
            " period_start_ms = $2, period_spent_nano = $1 WHERE id = $3",
            2 * AMOUNT,
            yesterday,
            key_id,
        )
    grant = grant_for(user_id, key_id, budget_nano=2 * AMOUNT, budget_period="day")
    assert await attempt(pool, grant, now) == "held"
    async with pool.acquire() as db:
        key = await db.fetchrow(
            "SELECT period_start_ms, period_spent_nano, held_nano FROM proxy_keys WHERE id = $1",
            key_id,
        )
    assert dict(key) == {
        "period_start_ms": key_rules.period_start_ms("day", now),
        "period_spent_nano": 0,
        "held_nano": AMOUNT,
    }


async def test_no_credit_says_whether_holds_are_in_flight(pool, sessions):
    user_id, _, _, key_id = await new_account(sessions, AMOUNT)
    grant = grant_for(user_id, key_id)
    with pytest.raises(NoCredit) as refused:
        await pg_holds.place(pool, grant, row_for(grant, 2 * AMOUNT), datetime.now(UTC))
    assert refused.value.retry_after is None  # nothing in flight: a top-up is needed
    assert await attempt(pool, grant) == "held"
    with pytest.raises(NoCredit) as refused:
        await pg_holds.place(pool, grant, row_for(grant), datetime.now(UTC))
    assert refused.value.retry_after == 5
    assert (await state(pool, user_id, key_id))["user_held"] == AMOUNT


def settlement(row: tuple[object, ...], charge: int, key_hold: int = 0) -> Settlement:
    request_id, user_id, key_id, amount = row[:4]
    return Settlement(
        user_id=user_id,  # type: ignore[arg-type]
        key_id=key_id,  # type: ignore[arg-type]
        hold_nano=amount,  # type: ignore[arg-type]
        key_hold_nano=key_hold,
        charge_nano=charge,
        usage={
            "request_id": request_id, "created_at": datetime.now(UTC), "provider": "anthropic",
            "endpoint": "messages", "model": "claude-test", "key_source": "byok",
            "input_tokens": 500, "output_tokens": 100, "cache_write_5m_tokens": 0,
            "cache_write_1h_tokens": 0, "cache_read_tokens": 0, "web_search_calls": 0,
            "web_fetch_calls": 0, "file_search_calls": 0, "code_interpreter_containers": 0,
            "tokens_estimated": False, "cost_nano": charge, "priced_by_default": False,
            "status": 200, "error_type": None, "latency_ms": 3, "ttfb_ms": None,
            "request_bytes": 100, "response_bytes": 700, "streamed": False, "ip_hash": "",
            "user_agent": "test", "client_session_id": "s-1",
        },
    )  # fmt: skip


async def test_the_plain_batch_books_each_hold_once_and_balance_equals_ledger(pool, sessions):
    """A batch of normal settlements, one beyond the balance (an operator loss) and a
    reclaimed one (a usage row of other columns), on the key with a budget."""
    user_id, _, _, key_id = await new_account(sessions, 10 * AMOUNT)
    grant = await day_budget(pool, user_id, key_id, 100 * AMOUNT)
    rows = [row_for(grant, 2 * AMOUNT) for _ in range(4)]
    for row in rows:
        await pg_holds.place(pool, grant, row, datetime.now(UTC))
    async with pool.acquire() as db:
        await db.execute("UPDATE holds SET lease_until_ms = 0 WHERE request_id = $1", rows[3][0])
    async with scope_of(sessions)() as session:
        stale = await session.get(Hold, rows[3][0])
        assert stale is not None
    price = pricing.Price(input=3_000_000, output=15_000_000, cache_write_5m=0,
                          cache_write_1h=0, cache_read=0)  # fmt: skip
    reclaimed = interrupted(stale, price, now_ms())
    batch = [
        settlement(rows[0], AMOUNT, 2 * AMOUNT),
        settlement(rows[1], AMOUNT + AMOUNT // 2, 2 * AMOUNT),
        settlement(rows[2], 9 * AMOUNT, 2 * AMOUNT),
        reclaimed,
    ]
    async with scope_of(sessions)() as session:
        await plain_batch.book_batch_postgres(session, batch)
    async with scope_of(sessions)() as session:  # booked already: nothing happens again
        await plain_batch.book_batch_postgres(session, batch)
    async with pool.acquire() as db:
        user = await db.fetchrow("SELECT balance_nano, held_nano FROM users WHERE id = $1", user_id)
        ledger = await db.fetchval(
            "SELECT sum(amount_nano) FROM ledger WHERE user_id = $1", user_id
        )
        usage = await db.fetch(
            "SELECT u.request_id, u.charged_nano, u.status, l.amount_nano FROM usage u"
            " LEFT JOIN ledger l ON l.usage_id = u.id WHERE u.user_id = $1",
            user_id,
        )
        loss = await db.fetchval(
            "SELECT sum(amount_nano) FROM operator_losses WHERE user_id = $1", user_id
        )
        key = await db.fetchrow(
            "SELECT spent_nano, held_nano, period_spent_nano FROM proxy_keys WHERE id = $1",
            key_id,
        )
        hourly = await db.fetchrow(
            "SELECT sum(requests) AS requests, sum(charged_nano) AS charged FROM usage_hourly"
            " WHERE user_id = $1", user_id
        )  # fmt: skip
    charged = {r["request_id"]: r["charged_nano"] for r in usage}
    assert len(usage) == 4  # one usage row per request, though the batch came twice
    # The third is covered by what is free when it is booked: the balance less the two
    # charges before it and the reclaimed request's hold (still held then); the rest is a loss.
    assert charged[rows[2][0]] == 10 * AMOUNT - AMOUNT - (AMOUNT + AMOUNT // 2) - 2 * AMOUNT
    total = sum(charged.values())
    assert user["held_nano"] == 0
    assert user["balance_nano"] == 10 * AMOUNT - total == ledger  # balance = ledger
    assert all(r["amount_nano"] == -r["charged_nano"] for r in usage if r["charged_nano"])
    assert loss == 9 * AMOUNT - charged[rows[2][0]] > 0
    assert dict(key) == {"spent_nano": total, "held_nano": 0, "period_spent_nano": total}
    assert dict(hourly) == {"requests": 4, "charged": total}
