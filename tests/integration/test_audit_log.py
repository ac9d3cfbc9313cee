"""The audit log is append-only in the database itself, and the support inbox's services
write it: a reply records its id and length (never its text), a close or reopen records the
state, each once. Also what an operator (or a forged event) can send as a reply, and the
audit page's filters and before → after lines.

The database is the app's (SQLite, built by the migrations, so the triggers of 0014 are
there); tests/integration/test_postgres.py checks the same refusal on PostgreSQL."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.helpers.console_support import grant_role
from tests.helpers.support import body_of

APPEND_ONLY = "the audit log is append-only"


async def new_entry(reason: str = "test") -> int:
    from aiusage.db import session_scope
    from aiusage.services import audit, roles

    async with session_scope() as db:
        entry = await audit.record(
            db, roles.CLI, "test.entry", "user", 0, before={"a": 1}, after={"a": 2}, reason=reason
        )
        return entry.id


async def entry_row(entry_id: int) -> tuple:
    from aiusage.db import session_scope

    async with session_scope() as db:
        return (
            await db.execute(
                sa.text("SELECT action, reason, before, after FROM audit_log WHERE id = :id"),
                {"id": entry_id},
            )
        ).one()


async def test_the_database_refuses_to_change_or_delete_an_entry(app_server):
    from aiusage.db import session_scope
    from aiusage.models import AuditEntry

    entry_id = await new_entry("original")
    original = await entry_row(entry_id)
    attempts = [
        sa.update(AuditEntry).where(AuditEntry.id == entry_id).values(reason="rewritten"),
        sa.update(AuditEntry).values(after="{}"),  # every row at once
        sa.delete(AuditEntry).where(AuditEntry.id == entry_id),
        sa.delete(AuditEntry),
        sa.text("DELETE FROM audit_log"),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match=APPEND_ONLY):
            async with session_scope() as db:
                await db.execute(statement)

    # Through the ORM as well: a loaded entry changed, or deleted, and flushed.
    with pytest.raises(DBAPIError, match=APPEND_ONLY):
        async with session_scope() as db:
            entry = await db.get(AuditEntry, entry_id)
            entry.reason = "rewritten"
    with pytest.raises(DBAPIError, match=APPEND_ONLY):
        async with session_scope() as db:
            await db.delete(await db.get(AuditEntry, entry_id))

    assert await entry_row(entry_id) == original


# --- the support inbox's services ---------------------------------------------------------


async def new_message(user_id: int, subject: str, body: str = "Please help.") -> int:
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage, User

    async with session_scope() as db:
        user = await db.get(User, user_id)
        message = SupportMessage(user_id=user_id, email=user.email, subject=subject, body=body)
        db.add(message)
        await db.flush()
        return message.id


async def operator_of(user_id: int):
    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.services import roles

    async with session_scope() as db:
        user = await db.get(User, user_id)
        return roles.Operator(user.id, user.email, user.role)


async def audit_for(message_id: int) -> list:
    from aiusage.db import session_scope
    from aiusage.services import audit

    async with session_scope() as db:
        return await audit.entries(
            db, audit.AuditFilter(target_type="support_message", target_id=str(message_id))
        )


async def test_a_reply_is_stored_mailed_and_audited_without_its_text(make_account, mailbox):
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail, SupportReply
    from aiusage.services import support_inbox

    user = await make_account(usd="0")
    staff = await make_account(usd="0")
    await grant_role(staff.id, "support")
    actor = await operator_of(staff.id)
    subject = f"Refund {secrets.token_hex(4)}"
    message_id = await new_message(user.id, subject)
    text = "Line one <b>not bold</b> & {braces}\n\tLine two 中文"

    async with session_scope() as db:
        saved = await support_inbox.reply(db, actor, message_id, f"  {text}\n ")
    async with session_scope() as db:
        stored = await db.get(SupportReply, saved.id)
        assert (stored.message_id, stored.author_id, stored.body) == (message_id, staff.id, text)
        mail = (
            await db.execute(sa.select(OutboxEmail).where(OutboxEmail.subject == f"Re: {subject}"))
        ).scalar_one()
    assert mail.to_address == user.email
    # Plain text, as written: no markup is interpreted, no placeholder filled.
    sent = mailbox.wait_for(user.email, f"Re: {subject}")
    assert sent["Subject"] == f"Re: {subject}"
    assert sent.get_content_type() == "text/plain"
    assert text in body_of(sent).replace("\r\n", "\n")

    (entry,) = await audit_for(message_id)
    assert (entry.action, entry.actor, entry.actor_id) == ("support.reply", actor.label, staff.id)
    assert json.loads(entry.after) == {"status": "open", "reply_id": saved.id, "length": len(text)}
    assert "not bold" not in entry.before + entry.after + entry.reason

    # The inbox shows it under its message, with the operator's address.
    async with session_scope() as db:
        shown = await support_inbox.messages(db, actor, "all")
    (view,) = [m for m in shown if m.id == message_id]
    assert [(r.body, r.author) for r in view.replies] == [(text, staff.email)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "support_reply_required"),
        (" \n\t ", "support_reply_required"),
        ("x" * 10_001, "support_reply_too_long"),
        ("y" * 100_000, "support_reply_too_long"),
        ("a NUL \x00 here", "support_reply_invalid"),
        ("a lone surrogate \ud800 here", "support_reply_invalid"),
        ("a bell \x07", "support_reply_invalid"),
        (["a", "list"], "support_reply_required"),
        (None, "support_reply_required"),
    ],
)
async def test_a_reply_that_cannot_be_sent_is_refused_and_nothing_is_written(
    make_account, body, code
):
    from aiusage.db import session_scope
    from aiusage.models import SupportReply
    from aiusage.services import support_inbox
    from aiusage.services.errors import ServiceError

    user = await make_account(usd="0")
    message_id = await new_message(user.id, "Odd reply")
    actor = await operator_of(user.id)
    admin = type(actor)(actor.id, "admin@example.com", "admin")
    with pytest.raises(ServiceError) as refused:
        async with session_scope() as db:
            await support_inbox.reply(db, admin, message_id, body)
    assert refused.value.code == code
    async with session_scope() as db:
        count = await db.scalar(
            sa.select(sa.func.count()).where(SupportReply.message_id == message_id)
        )
    assert count == 0
    assert await audit_for(message_id) == []


async def test_unknown_messages_and_roles_without_support_are_refused(make_account):
    from aiusage.db import session_scope
    from aiusage.services import support_inbox
    from aiusage.services.errors import ServiceError
    from aiusage.services.roles import Operator

    user = await make_account(usd="0")
    message_id = await new_message(user.id, "Who may answer")
    admin = Operator(user.id, "admin@example.com", "admin")
    for missing in (10**15, 10**30, 0, -1):
        with pytest.raises(ServiceError) as refused:
            async with session_scope() as db:
                await support_inbox.reply(db, admin, missing, "hello")
        assert (refused.value.code, refused.value.status) == ("support_message_not_found", 404)
    # Not a console role: refused by the service, whatever page or command called it.
    nobody = Operator(user.id, user.email, "user")
    for action in (
        lambda db: support_inbox.reply(db, nobody, message_id, "hello"),
        lambda db: support_inbox.set_closed(db, nobody, message_id, True),
        lambda db: support_inbox.messages(db, nobody),
    ):
        with pytest.raises(ServiceError) as refused:
            async with session_scope() as db:
                await action(db)
        assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as refused:
        async with session_scope() as db:
            await support_inbox.messages(db, admin, "everything")
    assert refused.value.code == "support_bad_filter"
    assert await audit_for(message_id) == []


async def test_close_and_reopen_are_recorded_once_each(make_account):
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage
    from aiusage.services import support_inbox
    from aiusage.services.roles import Operator

    user = await make_account(usd="0")
    message_id = await new_message(user.id, "Close me")
    admin = Operator(user.id, "admin@example.com", "admin")
    for closed, changed in ((True, True), (True, False), (False, True), (False, False)):
        async with session_scope() as db:
            assert await support_inbox.set_closed(db, admin, message_id, closed) is changed
    async with session_scope() as db:
        message = await db.get(SupportMessage, message_id)
        assert (message.status, message.closed_at) == ("open", None)
        open_ids = {m.id for m in await support_inbox.messages(db, admin, "open", limit=200)}
    assert message_id in open_ids
    reopen, close = await audit_for(message_id)  # newest first
    assert (close.action, reopen.action) == ("support.close", "support.reopen")
    assert json.loads(close.before)["status"] == "open"
    assert json.loads(close.after)["status"] == "closed"
    assert json.loads(close.after)["closed_at"] == json.loads(reopen.before)["closed_at"]
    assert json.loads(reopen.after) == {"status": "open", "closed_at": None}


# --- the audit page's filter and lines ----------------------------------------------------


def test_the_filter_is_parsed_and_bounded():
    from aiusage.services.errors import ServiceError
    from aiusage.state.console_audit import parse_filter

    values, wanted = parse_filter(
        {"action": " credit. ", "target_type": "user", "target_id": "5", "from": "2026-11-30"}
    )
    assert values["action"] == "credit." and wanted.action == "credit."
    assert wanted.since == datetime(2026, 11, 30, tzinfo=UTC) and wanted.until is None
    _, wanted = parse_filter({"from": "2026-11-30", "to": "2026-11-30"})
    assert wanted.until - wanted.since == timedelta(days=1)  # the last day included
    _, wanted = parse_filter({"action": ["not", "text"], "actor": None})
    assert (wanted.action, wanted.actor) == ("", "")
    for bad, code in (
        ({"from": "yesterday"}, "audit_bad_date"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "audit_bad_date"),
        ({"actor": "a" * 321}, "audit_filter_invalid"),
        ({"action": "x\x00"}, "audit_filter_invalid"),
        ({"target_id": "\udc80"}, "audit_filter_invalid"),
        ({"target_type": "two\nlines"}, "audit_filter_invalid"),
    ):
        with pytest.raises(ServiceError) as refused:
            parse_filter(bad)
        assert refused.value.code == code, bad


def test_before_and_after_read_one_field_a_line():
    from aiusage.state.console_audit import change_lines

    assert change_lines('{"status": "open"}', '{"reply_id": 7, "status": "open"}') == (
        "reply_id: — → 7\nstatus: open"
    )
    assert change_lines(
        '{"balance_nano": 5, "closed_at": null}', '{"balance_nano": 9, "closed_at": "2026"}'
    ) == ("balance_nano: 5 → 9\nclosed_at: — → 2026")
    assert change_lines("{}", '{"roles": ["a", "b"]}') == 'roles: — → ["a", "b"]'
    assert change_lines("{}", "{}") == ""
    assert change_lines("not json", "[1]") == "not json → [1]"


async def test_entries_filter_by_action_prefix_target_actor_and_day(app_server):
    from aiusage.db import session_scope
    from aiusage.services import audit
    from aiusage.services.roles import Operator

    actor = Operator(None, f"filter-{secrets.token_hex(4)}@example.com", "admin")
    target = secrets.token_hex(6)
    async with session_scope() as db:
        for action in ("credit.adjust", "credit.refund", "user.suspend", "credit_x.adjust"):
            await audit.record(db, actor, action, "user", target)

    async def actions(**wanted) -> list[str]:
        async with session_scope() as db:
            found = await audit.entries(db, audit.AuditFilter(**wanted))
        return [e.action for e in found]

    mine = {"actor": actor.label, "target_id": target}
    assert await actions(**mine) == [
        "credit_x.adjust",
        "user.suspend",
        "credit.refund",
        "credit.adjust",
    ]
    assert await actions(action="credit.", **mine) == ["credit.refund", "credit.adjust"]
    assert await actions(action="credit.refund", **mine) == ["credit.refund"]
    assert await actions(action="credit", **mine) == []  # exact unless it ends in "."
    assert await actions(target_type="user_x", **mine) == []
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await actions(since=tomorrow, **mine) == []
    assert len(await actions(until=tomorrow, **mine)) == 4
