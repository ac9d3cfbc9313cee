"""The user's data rights over HTTP against the real server: export, delete, email change,
support messages, sign out everywhere."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import zipfile

import httpx
from sqlalchemy import select

from tests.helpers.support import ROOT, body_of, wait_usage

USER_KEY = "sk-ant-api03-" + "e" * 40 + "WxYz"
MESSAGE = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "Hi"}],
}


def proxy_call(app_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{app_url}/api/v1/messages",
        json=MESSAGE,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=10,
    )


def log_in(http: httpx.Client, email: str, password: str) -> str:
    reply = http.post(
        "/api/auth/login",
        data={"email": email, "password": password},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    token = http.cookies.get("bai_session")
    assert token
    return token


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def secrets_of(account) -> dict[str, str]:
    from aiusage.db import session_scope
    from aiusage.models import ProviderKey, ProxyKey, User

    async with session_scope() as db:
        user = await db.get(User, account.id)
        key = (await db.execute(select(ProxyKey).where(ProxyKey.id == account.key_id))).scalar_one()
        sealed = (
            await db.execute(select(ProviderKey).where(ProviderKey.user_id == account.id))
        ).scalar_one()
    return {
        "password": account.password,
        "password hash": user.password_hash,
        "proxy key": account.proxy_key,
        "proxy key hash": key.key_hash,
        "provider key": USER_KEY,
        "provider key ciphertext": sealed.ciphertext.hex(),
    }


async def test_export_has_the_usage_and_no_secret(app_url, http, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    for _ in range(2):
        assert proxy_call(app_url, account.proxy_key).status_code == 200
    rows = await wait_usage(account.id, 2)
    hidden = await secrets_of(account)
    token = log_in(http, account.email, account.password)
    hidden["session token"] = token

    reply = http.get("/api/account/export")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    assert "attachment" in reply.headers["content-disposition"]
    files = unzip(reply.content)
    for table in (
        "account",
        "proxy_keys",
        "provider_keys",
        "usage",
        "ledger",
        "support_messages",
        "support_replies",
    ):
        assert f"{table}.json" in files and f"{table}.csv" in files, table

    usage = json.loads(files["usage.json"])
    assert sorted(u["request_id"] for u in usage) == sorted(r.request_id for r in rows)
    assert {u["input_tokens"] for u in usage} == {r.input_tokens for r in rows}
    usage_csv = list(csv.DictReader(io.StringIO(files["usage.csv"].decode())))
    assert sorted(u["request_id"] for u in usage_csv) == sorted(r.request_id for r in rows)
    account_json = json.loads(files["account.json"])[0]
    assert account_json["email"] == account.email
    assert json.loads(files["provider_keys.json"]) == [
        {
            "provider": "anthropic",
            "last4": "WxYz",
            "created_at": json.loads(files["provider_keys.json"])[0]["created_at"],
            "updated_at": json.loads(files["provider_keys.json"])[0]["updated_at"],
        }
    ]
    ledger = json.loads(files["ledger.json"])
    assert sum(e["amount_nano"] for e in ledger) == account_json["balance_nano"]

    everything = b"".join(files.values())
    for what, secret in hidden.items():
        assert secret.encode() not in everything, f"the export holds the {what}"

    # Nobody else's data: a signed-out request gets nothing.
    assert httpx.get(f"{app_url}/api/account/export", timeout=10).status_code == 401


async def test_cli_export_matches(app_url, fake, make_account, tmp_path):
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    assert proxy_call(app_url, account.proxy_key).status_code == 200
    (row,) = await wait_usage(account.id, 1)
    out = tmp_path / "export.zip"
    result = subprocess.run(
        [str(ROOT / ".venv/bin/aiusage"), "export", "--email", account.email, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    files = unzip(out.read_bytes())
    assert [u["request_id"] for u in json.loads(files["usage.json"])] == [row.request_id]
    hidden = await secrets_of(account)
    everything = b"".join(files.values())
    for what, secret in hidden.items():
        assert secret.encode() not in everything, f"the CLI export holds the {what}"


async def test_delete_account_stops_keys_and_sessions_at_once(
    app_url, http, fake, make_account, mailbox
):
    from aiusage.config import get_settings
    from aiusage.db import session_scope
    from aiusage.models import ProviderKey, ProxyKey, User, UserSession

    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    assert proxy_call(app_url, account.proxy_key).status_code == 200  # the key is cached now
    token = log_in(http, account.email, account.password)
    assert http.get("/api/auth/me").status_code == 200

    # A wrong confirmation deletes nothing.
    wrong = http.post(
        "/api/account/delete",
        data={"confirm_email": "someone-else@example.com", "current_password": account.password},
        headers={"Accept": "application/json"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "delete_confirm_mismatch"
    assert http.get("/api/auth/me").status_code == 200

    # Without a same-origin Origin the request is refused (CSRF).
    cross = httpx.post(
        f"{app_url}/api/account/delete",
        data={"confirm_email": account.email, "current_password": account.password},
        cookies={"bai_session": token},
        headers={"Origin": "https://evil.example"},
        timeout=10,
    )
    assert cross.status_code in (303, 403)
    assert http.get("/api/auth/me").status_code == 200

    reply = http.post(
        "/api/account/delete",
        data={"confirm_email": account.email.upper(), "current_password": account.password},
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/?notice=account_deleted"
    assert "bai_session" in reply.headers.get("set-cookie", "")

    # The old session cookie is dead at once, even for someone who kept a copy.
    me = httpx.get(f"{app_url}/api/auth/me", cookies={"bai_session": token}, timeout=10)
    assert me.status_code == 401
    # The proxy key stops working once the key cache entry expires (≤ key_cache_ttl).
    await asyncio.sleep(get_settings().key_cache_ttl + 0.2)
    refused = proxy_call(app_url, account.proxy_key)
    assert refused.status_code == 401
    assert refused.json()["type"] == "error"
    # So does logging in again.
    again = httpx.post(
        f"{app_url}/api/auth/login",
        data={"email": account.email, "password": account.password},
        headers={"Origin": app_url, "Accept": "application/json"},
        timeout=10,
    )
    assert again.status_code == 401

    async with session_scope() as db:
        user = await db.get(User, account.id)
        provider_keys = (
            await db.execute(select(ProviderKey).where(ProviderKey.user_id == account.id))
        ).all()
        live_keys = (
            await db.execute(
                select(ProxyKey).where(
                    ProxyKey.user_id == account.id, ProxyKey.revoked_at.is_(None)
                )
            )
        ).all()
        user_sessions = (
            await db.execute(select(UserSession).where(UserSession.user_id == account.id))
        ).all()
    assert user.closed_at is not None
    grace = (user.purge_after - user.closed_at).total_seconds() / 86400
    assert round(grace) == get_settings().closed_account_grace_days == 45
    assert provider_keys == [] and live_keys == [] and user_sessions == []
    mail = mailbox.wait_for(account.email, "deleted")
    assert "45 days" in body_of(mail)


async def test_email_change_is_confirmed_at_the_new_address(app_url, http, make_account, mailbox):
    import re

    account = await make_account(usd="0")
    log_in(http, account.email, account.password)
    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.services import profile

    new_email = "new-" + account.email
    async with session_scope() as db:
        user = await db.get(User, account.id)
        await profile.request_email_change(db, user, new_email)
    mail = mailbox.wait_for(new_email, "confirm your new")
    link = re.search(r"https?://\S+/api/account/confirm-email\?\S+", body_of(mail)).group(0)
    async with session_scope() as db:
        assert (await db.get(User, account.id)).email == account.email  # not before the click

    # A link whose address was altered does nothing.
    forged = link.replace("email=new-", "email=evil-")
    assert http.get(forged).headers["location"].endswith("error=token_invalid")
    reply = http.get(link)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/dashboard/settings?notice=email_changed"
    assert http.get("/api/auth/me").json()["email"] == new_email
    assert "changed" in mailbox.wait_for(account.email, "was changed")["Subject"]
    # The link works once.
    assert http.get(link).headers["location"].endswith("error=token_invalid")


async def test_support_message_is_stored_and_mailed_to_the_operator(make_account, mailbox):
    from aiusage.config import get_settings
    from aiusage.db import session_scope
    from aiusage.models import SupportMessage, User
    from aiusage.services import support

    account = await make_account(usd="0")
    async with session_scope() as db:
        user = await db.get(User, account.id)
        await support.submit(db, user, "Invoice question", "Where is my March invoice?")
    async with session_scope() as db:
        stored = (
            (await db.execute(select(SupportMessage).where(SupportMessage.user_id == account.id)))
            .scalars()
            .all()
        )
    assert [(m.subject, m.email) for m in stored] == [("Invoice question", account.email)]
    mail = mailbox.wait_for(get_settings().operator_email, "Invoice question")
    assert "Where is my March invoice?" in body_of(mail)
    assert account.email in body_of(mail)


async def test_sign_out_everywhere_ends_every_session(app_url, make_account):
    account = await make_account(usd="0")
    clients = [
        httpx.Client(base_url=app_url, headers={"Origin": app_url}, timeout=10) for _ in range(2)
    ]
    try:
        tokens = [log_in(c, account.email, account.password) for c in clients]
        reply = clients[0].post("/api/account/sign-out-everywhere")
        assert reply.status_code == 303
        assert reply.headers["location"] == "/login?notice=signed_out_everywhere"
        for token in tokens:
            me = httpx.get(f"{app_url}/api/auth/me", cookies={"bai_session": token}, timeout=10)
            assert me.status_code == 401
    finally:
        for c in clients:
            c.close()
