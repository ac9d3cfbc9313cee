"""The retention purge: old usage (and its hourly rollups) and old support messages (with the
operators' replies to them) go, recent ones stay; closed accounts past their grace are
anonymised with their ledger kept; a second run changes nothing; `aiusage purge` does the
same from the configuration. Mail bodies the sender no longer needs are emptied (in the
SQLite files too), old mail rows deleted; purging an account spares other owners' data under
the same address."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from datetime import timedelta

from sqlalchemy import func, select

from tests.helpers.support import ROOT


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


async def add_support(
    user_id: int, email: str, ages_days: list[int], *, replies: bool = False
) -> list[int]:
    """Support messages of these ages; with `replies`, each answered by an operator."""
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage, SupportReply, utcnow

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
            if replies:
                db.add(SupportReply(message_id=message.id, author_id=None, body="answered"))
    return ids


async def answered(message_ids: list[int]) -> set[int]:
    """Which of these messages still have replies."""
    from aiusage.db import session_scope
    from aiusage.models import SupportReply

    async with session_scope() as db:
        return set(
            (
                await db.execute(
                    select(SupportReply.message_id).where(SupportReply.message_id.in_(message_ids))
                )
            ).scalars()
        )


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
    old_message, new_message = await add_support(account.id, account.email, [3000, 0], replies=True)
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
    # The old message's reply went with it (first: it refers to the message).
    assert await answered([old_message, new_message]) == {new_message}
    async with session_scope() as db:
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
    messages = await add_support(account.id, account.email, [0], replies=True)
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
    assert await answered(messages) == set()
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


def stored_bytes() -> bytes:
    """Every byte SQLite keeps: the database file, its write-ahead log and shared memory."""
    from tests.conftest import RUN_DIR

    return b"".join(path.read_bytes() for path in (RUN_DIR / "data").glob("aiusage.db*"))


async def add_mail(**fields) -> int:
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail

    async with session_scope() as db:
        mail = OutboxEmail(**fields)
        db.add(mail)
        await db.flush()
        return mail.id


async def test_purge_empties_mail_bodies_and_deletes_old_mail(app_server):
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail, utcnow
    from aiusage.services import email, retention

    now = utcnow()
    tag = secrets.token_hex(6)
    marker = {name: f"{name.upper()}-{secrets.token_hex(10)}" for name in ("sent", "late", "fail")}
    ids = {
        # Sent long ago (more than the usage retention, the shorter one in the tests).
        "old_sent": await add_mail(
            to_address=f"old-{tag}@example.com",
            subject="old",
            body_text="",
            created_at=now - timedelta(days=3000),
            sent_at=now - timedelta(days=3000),
            attempts=1,
        ),
        # Never sent, and as old.
        "old_unsent": await add_mail(
            to_address=f"old-unsent-{tag}@example.com",
            subject="old unsent",
            body_text="",
            created_at=now - timedelta(days=3000),
            attempts=email.MAX_ATTEMPTS,
            last_error="SMTPServerDisconnected",
        ),
        # Sent by an earlier version, which kept the body.
        "sent": await add_mail(
            to_address=f"sent-{tag}@example.com",
            subject="sent",
            body_text=f"token={marker['sent']}",
            created_at=now - timedelta(days=1),
            sent_at=now - timedelta(days=1),
            attempts=1,
        ),
        # Never sent, older than any link in it (the sender no longer sends it).
        "late": await add_mail(
            to_address=f"late-{tag}@example.com",
            subject="late",
            body_text=f"token={marker['late']}",
            created_at=now - timedelta(days=3),
        ),
        # Finally failed, by an earlier version, which kept the body.
        "fail": await add_mail(
            to_address=f"fail-{tag}@example.com",
            subject="fail",
            body_text=f"token={marker['fail']}",
            attempts=email.MAX_ATTEMPTS,
            last_error="SMTPRecipientsRefused",
        ),
    }
    await asyncio.sleep(0.5)  # the app's sender runs every 0.1 s: it would have sent "late"

    report = await retention.purge(now=now, batch_size=2)

    async with session_scope() as db:
        rows = {
            row.id: row
            for row in (
                await db.execute(select(OutboxEmail).where(OutboxEmail.id.in_(ids.values())))
            ).scalars()
        }
    assert ids["old_sent"] not in rows and ids["old_unsent"] not in rows
    sent, late, fail = rows[ids["sent"]], rows[ids["late"]], rows[ids["fail"]]
    assert sent.body_text == "" and sent.subject == "sent" and sent.sent_at is not None
    assert late.body_text == "" and late.sent_at is None and late.attempts == 0
    assert late.last_error == "expired" and late.to_address == f"late-{tag}@example.com"
    assert fail.body_text == "" and fail.last_error == "SMTPRecipientsRefused"
    assert fail.attempts == email.MAX_ATTEMPTS
    # Gone from the files too, not only from the rows.
    stored = stored_bytes()
    for secret in marker.values():
        assert secret.encode() not in stored, f"{secret} still in the database files"
    assert report.mail >= 2 and report.mail_bodies >= 3

    # Idempotent, and the emptied mail is not sent afterwards.
    again = await retention.purge(now=now)
    assert (again.mail, again.mail_bodies) == (0, 0)
    await asyncio.sleep(0.5)
    async with session_scope() as db:
        assert (await db.get(OutboxEmail, ids["late"])).sent_at is None


async def test_purging_an_account_spares_other_owners_of_its_address(app_server, make_account):
    """Support messages go by user id, not by address: an address can have been another
    account's (which changed its email since) or used while signed out. Mail to the address
    goes, and so do the operator's copies of the account's support messages."""
    from aiusage.db import session_scope
    from aiusage.i18n import t
    from aiusage.models import OutboxEmail, SupportMessage, User, utcnow
    from aiusage.services import accounts, retention, support

    def operator_subject(subject: str) -> str:
        return t("en", "mail.support.subject", subject=subject)

    earlier = await make_account(usd="0")
    address = earlier.email
    # The earlier owner wrote to support, and got mail, under the address, then moved on.
    (earlier_message,) = await add_support(earlier.id, address, [10], replies=True)
    await add_mail(
        to_address=address,
        subject="earlier owner's mail",
        body_text="",
        created_at=utcnow() - timedelta(days=10),
        sent_at=utcnow() - timedelta(days=10),
        attempts=1,
    )
    async with session_scope() as db:
        moved = await db.get(User, earlier.id)
        moved.email = "moved-" + address
    async with session_scope() as db:
        anonymous = SupportMessage(user_id=None, email=address, subject="signed out", body="hi")
        db.add(anonymous)
        await db.flush()
        anonymous_id = anonymous.id

    # A new account takes the address, writes to support, and is closed and purged.
    async with session_scope() as db:
        later = await accounts.create_user(db, address, secrets.token_urlsafe(12), verified=True)
        later_id = later.id
        own = await support.submit(db, later, f"Later's {secrets.token_hex(4)}", "Please help.")
        own_subject = own.subject
    async with session_scope() as db:
        moved = await db.get(User, earlier.id)
        other = await support.submit(db, moved, f"Earlier's {secrets.token_hex(4)}", "Me too.")
        other_subject = other.subject
    (old_own,) = await add_support(later_id, "an-older-address@example.com", [5], replies=True)
    async with session_scope() as db:
        user = await db.get(User, later_id)
        await retention.close_account(db, user, address)
    async with session_scope() as db:
        (await db.get(User, later_id)).purge_after = utcnow() - timedelta(seconds=1)
    report = await retention.purge()
    assert report.accounts >= 1

    async with session_scope() as db:
        messages = set(
            (
                await db.execute(
                    select(SupportMessage.id).where(
                        SupportMessage.id.in_([earlier_message, anonymous_id, old_own, own.id])
                    )
                )
            ).scalars()
        )
        outbox = {
            row.id: row
            for row in (
                await db.execute(
                    select(OutboxEmail).where(
                        (OutboxEmail.to_address == address)
                        | OutboxEmail.subject.in_(
                            [operator_subject(s) for s in (own_subject, other_subject)]
                        )
                    )
                )
            ).scalars()
        }
    # The other owners' messages stay; the purged account's go, whatever address they name.
    assert messages == {earlier_message, anonymous_id}
    assert await answered([earlier_message, old_own]) == {earlier_message}
    # Mail to the address goes, except what was sent before the account existed (the
    # earlier owner's); the operator's copy of the account's message goes, the other stays.
    assert sorted(row.subject for row in outbox.values()) == sorted(
        ["earlier owner's mail", operator_subject(other_subject)]
    )
    assert await remaining(SupportMessage, later_id) == 0
