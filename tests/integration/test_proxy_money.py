"""Money under load, and what is (not) stored."""

from __future__ import annotations

import asyncio
import json
import secrets

import anthropic
import httpx

from tests.conftest import RUN_DIR
from tests.helpers.support import settled_money, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "m" * 40 + "MoNy"


async def test_200_concurrent_requests_on_a_small_balance(app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.services import billing

    account = await make_account(usd="0.05")  # platform key serves gpt-4o
    fake.behavior.response_delay = 0.2  # requests overlap
    body = {
        "model": "gpt-4o",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "count to three"}],
    }
    lowest = [10**18]

    async def watch_balance(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with session_scope() as session:
                balance, _ = await billing.balance(session, account.id)
            lowest[0] = min(lowest[0], balance)
            await asyncio.sleep(0.02)

    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_balance(stop))
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    f"{app_url}/api/v1/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {account.proxy_key}"},
                )
                for _ in range(200)
            ]
        )
    stop.set()
    await watcher

    statuses = [r.status_code for r in responses]
    served, refused = statuses.count(200), statuses.count(402)
    assert served + refused == 200, statuses
    assert served >= 4 and refused > 0
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "insufficient_quota"
    rows = await wait_usage(account.id, served)  # every served request, and only those, charged
    assert all(row.charged_nano > 0 for row in rows)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 50_000_000 - sum(row.charged_nano for row in rows)
    assert balance >= 0 and lowest[0] >= 0
    assert len(fake.requests) == served  # refused requests never reached the upstream


async def test_no_prompt_reply_or_key_is_stored_or_logged(app_url, app_server, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    prompt_marker = "PROMPT-" + secrets.token_hex(8)
    reply_marker = "REPLY-" + secrets.token_hex(8)
    fake.behavior.reply_text = f"here is {reply_marker} for you"
    sdk = anthropic.Anthropic(api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0)
    request = {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": f"remember {prompt_marker}"}],
    }
    assert reply_marker in sdk.messages.create(**request).content[0].text
    with sdk.messages.stream(**request) as stream:
        assert reply_marker in "".join(stream.text_stream)
    await wait_usage(account.id, 2)
    assert prompt_marker in json.loads(fake.requests[-1].body)["messages"][0]["content"]

    stored = b"".join(path.read_bytes() for path in (RUN_DIR / "data").glob("aiusage.db*"))
    for secret in (prompt_marker, reply_marker, ANTHROPIC_KEY, account.proxy_key):
        assert secret.encode() not in stored, f"{secret[:8]}… found in the database"
        assert secret not in app_server.log_text(), f"{secret[:8]}… found in the server log"
