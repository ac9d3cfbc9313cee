"""The retention purge: old usage (and its hourly rollups) and old support messages go,
recent ones stay; closed accounts past their grace are anonymised with their ledger kept;
a second run changes nothing; `aiusage purge` does the same from the configuration."""

from __future__ import annotations

import os
import secrets
import subprocess
from datetime import timedelta

from sqlalchemy import func, select

from tests.support import ROOT


async def add_usage(user_id: int, key_id: int, ages_days: list[int]) -> list[int]:
    from aiusage.db import session_scope
    from aiusage.models import UsageHourly, UsageRecord, utcnow
    from aiusage.services import billing

    now = utcnow()
    ids = []
    async with session_scope() as db:
        for age in ages_days:
            at = now - timedelta(days=age)
            row = UsageRecord(
                request_id="req_" + secrets.token_hex(12),
                created_at=at,
                user_id=user_id,
                proxy_key_id=key_id,
                provider="anthropic",
                endpoint="messages",
                model="claude-test",
                key_source="own",
                input_tokens=10,
                output_tokens=5,
                charged_nano=1000,
                status=200,
            )
            db.add(row)
            await db.flush()
            ids.append(row.id)
            # Each usage row is charged in the ledger, which must survive the purge.
            await billing.book(db, user_id, -1000, billing.USAGE, "test", usage_id=row.id)
            db.add(
                UsageHourly(
                    user_id=user_id,
                    proxy_key_id=key_id,
                    provider="anthropic",
                    model=f"claude-test-{age}-{secrets.token_hex(3)}",
                    hour=at.replace(minute=0, second=0, microsecond=0),
                    requests=1,
                )
            )
    return ids


async def add_support(user_id: int, email: str, ages_days: list[int]) -> list[int]:
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage, utcnow

    ids = []
    async with session_scope() as db:
        for age in ages_days:
            message = SupportMessage(
                user_id=user_id,
                email=email,
                subject=f"age {age}",
                body="hello",
                created_at=utcnow() - timedelta(days=age),
            )
            db.add(message)
            await db.flush()
            ids.append(message.id)
    return ids


async def remaining(model, user_id: int) -> int:
    from aiusage.db import session_scope

    async with session_scope() as db:
        return (
            await db.execute(
                select(func.count()).select_from(model).where(model.user_id == user_id)
            )
        ).scalar_one()


async def test_purge_with_shortened_periods_keeps_recent_rows(app_server, make_account):
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage, UsageHourly, UsageRecord, utcnow
    from aiusage.services import billing, retention

    account = await make_account(usd="5")
    usage_ids = await add_usage(account.id, account.key_id, [3000, 2900, 2800, 0, 1])
    await add_support(account.id, account.email, [3000, 0])
    async with session_scope() as db:
        balance_before, _ = await billing.balance(db, account.id)

    now = utcnow()
    # Shortened periods (explicit cut-offs), far enough back not to touch other tests' rows;
    # a batch size of 2 makes the purge take several batches.
    report = await retention.purge(
        now=now,
        usage_before=now - timedelta(days=2000),
        support_before=now - timedelta(days=2000),
        batch_size=2,
    )
    assert report.usage >= 3 and report.usage_hourly >= 3 and report.support_messages >= 1

    async with session_scope() as db:
        kept = (
            (await db.execute(select(UsageRecord.id).where(UsageRecord.user_id == account.id)))
            .scalars()
            .all()
        )
        assert sorted(kept) == usage_ids[3:]
        subjects = (
            (
                await db.execute(
                    select(SupportMessage.subject).where(SupportMessage.user_id == account.id)
                )
            )
            .scalars()
            .all()
        )
        assert subjects == ["age 0"]
        balance_after, _ = await billing.balance(db, account.id)
        # The ledger is untouched: the balance still equals its sum.
        assert balance_after == balance_before == await billing.ledger_sum(db, account.id)
    assert await remaining(UsageHourly, account.id) == 2

    # Idempotent: a second pass with the same cut-offs finds nothing of this user's.
    again = await retention.purge(
        now=now,
        usage_before=now - timedelta(days=2000),
        support_before=now - timedelta(days=2000),
    )
    assert await remaining(UsageRecord, account.id) == 2
    assert (again.usage, again.usage_hourly, again.support_messages) == (0, 0, 0)


async def test_closed_account_past_grace_is_anonymised_ledger_kept(app_server, make_account):
    from aiusage.db import session_scope
    from aiusage.models import (
        LedgerEntry,
        ProxyKey,
        SupportMessage,
        UsageHourly,
        UsageRecord,
        User,
        utcnow,
    )
    from aiusage.services import billing, retention

    account = await make_account(usd="7")
    await add_usage(account.id, account.key_id, [0, 1])
    await add_support(account.id, account.email, [0])
    async with session_scope() as db:
        user = await db.get(User, account.id)
        await retention.close_account(db, user, account.email)
    async with session_scope() as db:
        ledger_before = await billing.ledger_sum(db, account.id)

    # Within the grace period nothing is purged.
    await retention.purge()
    async with session_scope() as db:
        assert (await db.get(User, account.id)).email == account.email

    # Past it (the clock moved): personal data goes, the ledger stays.
    async with session_scope() as db:
        user = await db.get(User, account.id)
        user.purge_after = utcnow() - timedelta(seconds=1)
    report = await retention.purge()
    assert report.accounts >= 1
    async with session_scope() as db:
        user = await db.get(User, account.id)
        assert user.email == f"deleted-{account.id}@invalid"
        assert user.password_hash is None and user.stripe_customer_id is None
        assert user.purge_after is None and user.closed_at is not None
        assert await billing.ledger_sum(db, account.id) == ledger_before == user.balance_nano
        ledger_rows = (
            await db.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.user_id == account.id)
            )
        ).scalar_one()
        assert ledger_rows == 3  # the grant and two usage charges
    for model in (UsageRecord, UsageHourly, SupportMessage, ProxyKey):
        assert await remaining(model, account.id) == 0, model.__name__
    # Idempotent: the account is not purged twice.
    assert await retention.anonymise_account(account.id) is False
    async with session_scope() as db:
        assert (await db.get(User, account.id)).email == f"deleted-{account.id}@invalid"


async def test_purge_command_uses_the_configured_period(app_server, make_account):
    from aiusage.models import UsageRecord

    account = await make_account(usd="5")
    await add_usage(account.id, account.key_id, [3000, 0])
    env = {**os.environ, "AIUSAGE_USAGE_RETENTION_DAYS": "2500"}
    result = subprocess.run(
        [str(ROOT / ".venv/bin/aiusage"), "purge"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert '"usage":' in result.stdout
    assert await remaining(UsageRecord, account.id) == 1
