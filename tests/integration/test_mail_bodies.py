"""Mail bodies hold one-off links (verification, password reset): once a mail is sent, or has
finally failed, its body is gone from the outbox row and from the SQLite files themselves
(page free space and write-ahead log included); recipient, subject, times and attempts stay.
Through the real app server, its outbox sender and the real SMTP sink."""

from __future__ import annotations

import asyncio
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from tests.conftest import RUN_DIR
from tests.helpers.support import link_in


def stored_bytes() -> bytes:
    """Every byte SQLite keeps: the database file, its write-ahead log and shared memory."""
    return b"".join(path.read_bytes() for path in (RUN_DIR / "data").glob("aiusage.db*"))


async def wait_gone(secret: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while secret.encode() in stored_bytes():
        assert time.monotonic() < deadline, f"{secret[:8]}… still in the database files"
        await asyncio.sleep(0.1)


def form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data=fields, follow_redirects=False)


async def outbox_rows(address: str) -> list:
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail

    async with session_scope() as db:
        return list(
            (
                await db.execute(
                    select(OutboxEmail)
                    .where(OutboxEmail.to_address == address)
                    .order_by(OutboxEmail.id)
                )
            ).scalars()
        )


async def test_a_mailed_reset_link_is_not_left_in_the_database(http, mailbox):
    address = f"reset-{secrets.token_hex(5)}@example.com"
    form(http, "/api/auth/signup", email=address, password="old-password")
    verify_link = link_in(mailbox.wait_for(address, "confirm"), "/api/auth/verify")
    assert http.get(verify_link, follow_redirects=False).status_code == 303

    assert form(http, "/api/auth/forgot-password", email=address).status_code == 303
    reset_link = link_in(mailbox.wait_for(address, "reset"), "/reset-password")
    token = parse_qs(urlsplit(reset_link).query)["token"][0]
    verify_token = parse_qs(urlsplit(verify_link).query)["token"][0]

    # Neither link is anywhere in the SQLite files once the mail has gone out.
    await wait_gone(token)
    await wait_gone(verify_token)

    # The rows stay as the record of what was mailed, without their bodies.
    rows = await outbox_rows(address)
    assert len(rows) == 2
    for row in rows:
        assert row.body_text == ""
        assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
        assert row.subject and row.created_at <= row.sent_at
    assert "reset" in rows[1].subject.lower()

    # The link still works: only the mail's copy of it is gone.
    done = form(http, "/api/auth/reset-password", token=token, password="new-password")
    assert done.headers["location"] == "/login?notice=password_reset"


async def test_a_mail_that_finally_fails_loses_its_body(app_server):
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail
    from aiusage.services import email

    marker = "LINK-" + secrets.token_hex(12)
    # A header injection: the message cannot even be built, so every attempt fails.
    address = f"broken-{secrets.token_hex(5)}@example.com\nBcc: victim@example.com"
    async with session_scope() as db:
        db.add(
            OutboxEmail(
                to_address=address,
                subject="Reset your password",
                body_text=f"open http://x/reset-password?token={marker}",
                attempts=email.MAX_ATTEMPTS - 1,  # the next attempt is the last
            )
        )

    deadline = time.monotonic() + 15
    while True:
        (row,) = await outbox_rows(address)
        if row.attempts >= email.MAX_ATTEMPTS and row.sent_at is None:
            break
        assert time.monotonic() < deadline, "the app's sender did not try the mail"
        await asyncio.sleep(0.1)
    assert row.attempts == email.MAX_ATTEMPTS
    assert row.body_text == "" and row.last_error == "ValueError"
    assert row.subject == "Reset your password"
    await wait_gone(marker)


async def test_a_failed_attempt_keeps_the_body_for_the_retry(app_server):
    """The other side: a failure that is not the last leaves the mail to be sent later."""
    from aiusage.db import session_scope
    from aiusage.models import OutboxEmail
    from aiusage.services import email

    address = f"retry-{secrets.token_hex(5)}@example.com\nBcc: victim@example.com"
    first = email.MAX_ATTEMPTS - 4
    async with session_scope() as db:
        db.add(
            OutboxEmail(to_address=address, subject="Hello", body_text="retry me", attempts=first)
        )
    deadline = time.monotonic() + 15
    released_with_body = set()
    while True:
        (row,) = await outbox_rows(address)
        if row.sent_at is None and first < row.attempts < email.MAX_ATTEMPTS:
            assert row.body_text == "retry me"
            released_with_body.add(row.attempts)
        if row.attempts >= email.MAX_ATTEMPTS and row.sent_at is None:
            break
        assert time.monotonic() < deadline, "the app's sender did not try the mail"
        await asyncio.sleep(0.02)
    assert row.body_text == "" and row.last_error == "ValueError"
    # Between attempts (released, not yet the last) the body was there for the retry.
    assert released_with_body


def test_the_console_backend_prints_mails_decoded(capsys):
    """A verification link copied from the console works: no quoted-printable soft line
    breaks or =3D in the printed mail."""
    from aiusage.config import get_settings
    from aiusage.models import OutboxEmail
    from aiusage.services import email

    link = "http://localhost:3000/api/auth/verify?token=" + "A1b2C3d4" * 12
    settings = get_settings().model_copy(update={"email_backend": "console"})
    mail = OutboxEmail(to_address="a@example.com", subject="Vérifiez", body_text=f"Open {link}\n")
    email._deliver(settings, email._message(settings, mail))
    printed = capsys.readouterr().out
    assert link in printed.splitlines()[-2] or f"Open {link}" in printed
    assert "=3D" not in printed and "Subject: Vérifiez" in printed
