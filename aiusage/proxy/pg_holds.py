"""The hold on PostgreSQL: one statement on a small asyncpg pool of the hold's own.

Through SQLAlchemy a hold was 8 round trips and ~1 ms of the event loop's CPU (the pool's
pre-ping alone is BEGIN, `;`, ROLLBACK; then BEGIN, the balance UPDATE, the key UPDATE, the
hold row INSERT, COMMIT, each statement cache-keyed and compiled by SQLAlchemy). Here the
three writes are one statement (data-modifying CTEs), prepared once per connection by
asyncpg:

- the balance UPDATE raises `users.held_nano` only where the available balance covers the
  amount (a conditional UPDATE: PostgreSQL re-checks it on the locked row, so concurrent
  holds on any instance cannot overspend);
- the key UPDATE (keys with a spend limit or a budget) runs only if the balance one did;
- the hold row is inserted only if both did.

A single statement is atomic by itself, so a key without its own hold needs no transaction
(one round trip): the row exists exactly when `users.held_nano` was raised. A key with its
own hold runs the statement in a transaction (BEGIN, the statement, COMMIT): when the
balance fits and the key does not, the balance's raise is rolled back with it. Either way
`held_nano` (user's and key's) equals the sum of the hold rows, as in holds.py.

The pool does no pre-ping and no reset query (each would be a round trip per hold): a
connection the server closed is noticed by asyncpg as it happens and replaced at the next
acquire; an error on a connection that is lost mid-hold reaches the caller as the engine's
would (a 503, database_unavailable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs

from aiusage.db import get_engine
from aiusage.proxy.auth import KeyGrant
from aiusage.proxy.holds import KeyLimitReached, NoCredit
from aiusage.services import key_rules

# Holds in flight per process at once; each is one short statement. Connections count
# against the server's max_connections next to the engine's pool (10 + 10 overflow).
POOL_SIZE = 4

# $1-$13: the hold row (holds.py's order); $14 the key's lifetime limit, $15 its period
# budget (either NULL), $16 the current period's start (ms), $17 whether the key holds too.
# The casts: PostgreSQL cannot type a parameter whose only use is `IS NULL`.
_PERIOD_SPENT = "CASE WHEN period_start_ms < $16 THEN 0 ELSE period_spent_nano END"
HOLD = f"""
WITH balance AS (
    UPDATE users SET held_nano = held_nano + $4
    WHERE id = $2 AND balance_nano - held_nano >= GREATEST($4, 1)
    RETURNING id
), on_key AS (
    UPDATE proxy_keys SET held_nano = held_nano + $4,
        period_spent_nano = {_PERIOD_SPENT},
        period_start_ms = GREATEST(period_start_ms, $16)
    WHERE id = $3 AND $17 AND EXISTS (SELECT FROM balance)
        AND ($14::bigint IS NULL OR spent_nano + held_nano + $4 <= $14::bigint)
        AND ($15::bigint IS NULL OR {_PERIOD_SPENT} + held_nano + $4 <= $15::bigint)
    RETURNING id
), hold AS (
    INSERT INTO holds (request_id, user_id, proxy_key_id, amount_nano, key_amount_nano, owner,
        lease_until_ms, started_ms, provider, endpoint, model, byok, request_bytes)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
    WHERE EXISTS (SELECT FROM balance) AND (NOT $17 OR EXISTS (SELECT FROM on_key))
    RETURNING request_id
)
SELECT EXISTS (SELECT FROM balance) AS balance_held, EXISTS (SELECT FROM hold) AS placed,
    (SELECT held_nano FROM users WHERE id = $2) AS held
"""  # noqa: S608 (a fragment of our own spliced in, no value)
KEY_SPEND = (
    "SELECT spent_nano, held_nano, CASE WHEN period_start_ms < $2 THEN 0"
    " ELSE period_spent_nano END FROM proxy_keys WHERE id = $1"
)


class _KeyRefused(Exception):
    """Raised inside the key's transaction: rolls back the balance's hold."""

    def __init__(self, spend: tuple[int, int, int] | None) -> None:
        super().__init__()
        self.spend = spend


async def open_pool() -> asyncpg.Pool:
    """The hold's pool, on the engine's database (the URL's connect arguments, as SQLAlchemy
    passes them to asyncpg). Connects lazily: starting does not need the server up."""
    engine = get_engine()
    _, options = engine.dialect.create_connect_args(engine.url)
    options.pop("prepared_statement_cache_size", None)  # SQLAlchemy's, not asyncpg's
    return await asyncpg.create_pool(min_size=0, max_size=POOL_SIZE, reset=_no_reset, **options)


async def _no_reset(connection: asyncpg.Connection) -> None:
    """The hold sets no session state and leaves no transaction open: nothing to reset."""


async def place(pool: asyncpg.Pool, grant: KeyGrant, row: tuple[object, ...], now: datetime) -> int:
    """Places the hold (`row`: holds.py's hold row, its amount at [3], the key's part at
    [4]); returns the key's part. Raises NoCredit or KeyLimitReached, nothing held, when
    the balance or the key's limits do not cover it."""
    amount = row[3]
    assert isinstance(amount, int)
    period = key_rules.period_start_ms(grant.budget_period, now)
    args: list[Any] = [*row, grant.spend_limit_nano, grant.budget_nano, period]
    async with pool.acquire() as connection:
        try:
            if grant.holds_on_key:
                async with connection.transaction():
                    found = await connection.fetchrow(HOLD, *args, True)
                    if found["balance_held"] and not found["placed"]:
                        spend = await connection.fetchrow(KEY_SPEND, grant.key_id, period)
                        raise _KeyRefused(tuple(spend) if spend else None)
            else:  # one statement: atomic without a transaction
                found = await connection.fetchrow(HOLD, *args, False)
        except _KeyRefused as refused:
            raise KeyLimitReached(grant, refused.spend, amount, now) from None
    if not found["placed"]:
        raise NoCredit(found["held"])
    key_amount = row[4]
    assert isinstance(key_amount, int)
    return key_amount
