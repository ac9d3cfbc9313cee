"""The money path under hostile input, crashes and upstream surprises: billing never stops,
a balance never goes below zero, and every forwarded request ends as exactly one usage row."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import RUN_DIR, TEST_ENV
from tests.helpers.support import (
    free_port,
    money_state,
    settled_money,
    start_standalone_proxy,
    wait_usage,
)

ANTHROPIC_KEY = "sk-ant-api03-" + "p" * 40 + "PaTh"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}


def raw_body(model_json: str, extra: str = "") -> bytes:
    """A body whose model is written as raw JSON text (escapes kept as they are)."""
    return (
        '{"model":' + model_json + ',"max_tokens":50,'
        '"messages":[{"role":"user","content":"hi"}]' + extra + "}"
    ).encode()


async def hold_rows(user_id: int) -> int:
    from aiusage.db import session_scope
    from aiusage.models import Hold

    async with session_scope() as session:
        return (
            await session.execute(select(func.count()).where(Hold.user_id == user_id))
        ).scalar_one()


async def losses_of(user_id: int) -> list:
    from aiusage.db import session_scope
    from aiusage.models import OperatorLoss

    async with session_scope() as session:
        rows = await session.execute(select(OperatorLoss).where(OperatorLoss.user_id == user_id))
        return list(rows.scalars())


async def held_settlement(account, holds, request_id: str, request_bytes: int = 400):
    """A hold placed for `account` as the handler places one, and the settlement its owner
    would hand the writer (priced as an interrupted request, settled by its owner)."""
    from aiusage.models import Hold
    from aiusage.proxy.auth import KeyGrant
    from aiusage.proxy.holds import HoldTicket, now_ms
    from aiusage.proxy.reclaim import interrupted
    from aiusage.services.pricing import Price

    ticket = HoldTicket(
        request_id=request_id,
        user_id=account.id,
        key_id=account.key_id,
        amount_nano=50_000_000,
        started_ms=now_ms(),
        provider="anthropic",
        endpoint="/v1/messages",
        model="claude-haiku-4-5",
        byok=False,
        request_bytes=request_bytes,
    )
    await holds.place(KeyGrant(account.key_id, account.id, None, None, {}), ticket)
    fields = {name: getattr(ticket, name) for name in ticket.__dataclass_fields__}
    del fields["key_id"]
    hold = Hold(
        **fields,
        proxy_key_id=account.key_id,
        key_amount_nano=0,
        owner=holds.owner,
        lease_until_ms=0,
    )
    settlement = interrupted(
        hold, Price(1_000_000, 5_000_000, 1_250_000, 2_000_000, 100_000), now_ms()
    )
    settlement.reclaimed = False
    return settlement


# --- bad input is refused before anything is held or forwarded ---------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (raw_body('"claude-\\ud800"'), "unpaired"),  # a lone surrogate: valid JSON, no text
        (raw_body('"claude-haiku-4-5"', ',"system":"x\\udfff"'), "unpaired"),
        (raw_body('"claude-\\u0000haiku"'), "model"),  # NUL
        (raw_body('"claude\\nhaiku"'), "model"),  # a control character
        (raw_body('"' + "m" * 101 + '"'), "model"),  # over-long
        (raw_body("42"), "model"),
        (b'{"model":"claude-haiku-4-5","max_tokens":1e24,"messages":[]}', "max_tokens"),
        (
            b'{"model":"claude-haiku-4-5","max_tokens":' + b"9" * 30 + b',"messages":[]}',
            "max_tokens",
        ),
        (b'{"model":"claude-haiku-4-5","max_tokens":true,"messages":[]}', "max_tokens"),
        (b'{"model":"claude-haiku-4-5","max_tokens":-5,"messages":[]}', "max_tokens"),
        (
            b'{"model":"claude-haiku-4-5","max_tokens":5,"messages":[],'
            b'"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":1e9}]}',
            "max_uses",
        ),
    ],
)
async def test_bad_anthropic_bodies_get_400_in_anthropic_shape(
    app_url, fake, make_account, body, what
):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    response = httpx.post(
        f"{app_url}/api/v1/messages",
        content=body,
        headers={**ANTHROPIC_HEADERS, "x-api-key": account.proxy_key},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert what in error["error"]["message"]
    assert fake.requests == []  # nothing forwarded
    assert await money_state(account.id) == (1_000_000_000, 0, 1_000_000_000)  # nothing held


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"gpt-4o\\ud83d","messages":[]}',
        b'{"model":"gpt-4o","n":1000,"messages":[]}',
        b'{"model":"gpt-4o","n":0,"messages":[]}',
        b'{"model":"gpt-4o","max_completion_tokens":1e24,"messages":[]}',
        b'{"model":"gpt-4o","max_tokens":"100","messages":[]}',
        b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"\\udc00"}]}',
    ],
)
async def test_bad_openai_bodies_get_400_in_openai_shape(app_url, fake, make_account, body):
    account = await make_account(usd="1")
    response = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        content=body,
        headers={
            "authorization": f"Bearer {account.proxy_key}",
            "content-type": "application/json",
        },
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests == []
    assert (await money_state(account.id))[1] == 0


async def test_control_characters_in_kept_headers_get_400(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    for name, value in (
        ("user-agent", "tool\x01evil"),
        ("user-agent", "tool\x7fevil"),
        ("user-agent", "u" * 513),
        ("x-claude-code-session-id", "s" * 129),
    ):
        response = httpx.post(
            f"{app_url}/api/v1/messages",
            json=BODY,
            headers={**ANTHROPIC_HEADERS, "x-api-key": account.proxy_key, name: value},
            timeout=30,
        )
        # The HTTP server itself may refuse a control character before the proxy sees it.
        assert response.status_code == 400, (name, response.text)
        if response.headers.get("content-type") == "application/json":
            assert name in response.json()["error"]["message"]
    assert fake.requests == []


# --- a poisoned row never stops billing ------------------------------------------------------


async def test_an_unwritable_row_is_set_aside_and_the_rest_is_booked(app_server, make_account):
    """The writer itself, handed a row the database cannot store (as the surrogate body once
    was): it books every other settlement, keeps the bad one whole and releases its hold."""
    from aiusage.db import session_scope
    from aiusage.models import DeadSettlement
    from aiusage.proxy.holds import Holds
    from aiusage.proxy.usage_writer import Settlement, UsageWriter

    good, bad = await make_account(usd="1"), await make_account(usd="1")
    holds, writer = Holds(), UsageWriter()
    await holds.start()
    writer.start()
    settlements = []
    try:
        for n, account in enumerate([good, bad, good, good]):
            settlement = await held_settlement(account, holds, f"req_poison_{account.id}_{n}")
            if account is bad:
                settlement.usage["model"] = "claude-\ud800"  # cannot be encoded
            settlements.append(settlement)
        started = time.monotonic()
        for settlement in settlements:
            writer.submit(settlement)
        await asyncio.wait_for(writer.flushed(), 10)
        assert time.monotonic() - started < 5
    finally:
        await asyncio.wait_for(writer.stop(), 15)
        await holds.stop()

    rows = await wait_usage(good.id, 3)
    assert all(row.charged_nano > 0 for row in rows)
    balance, ledger = await settled_money(good.id)
    assert balance == ledger == 1_000_000_000 - sum(row.charged_nano for row in rows)
    assert await hold_rows(bad.id) == 0
    assert await money_state(bad.id) == (1_000_000_000, 0, 1_000_000_000)
    async with session_scope() as session:
        (dead,) = (
            await session.execute(select(DeadSettlement).where(DeadSettlement.user_id == bad.id))
        ).scalars()
    kept = Settlement.from_json(dead.payload)
    assert kept.usage["model"] == "claude-\ud800"
    assert kept.charge_nano == settlements[1].charge_nano


# --- a balance never goes below zero -----------------------------------------------------------


async def test_no_max_tokens_and_a_huge_answer_never_take_the_balance_below_zero(
    app_url, fake, make_account
):
    account = await make_account(usd="1")  # the platform key serves gpt-4o
    fake.behavior.output_tokens = 128_000  # far beyond what the model's own maximum allows
    fake.behavior.response_delay = 0.3  # the ten requests overlap
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "write a book"}]}
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *[
                client.post(
                    f"{app_url}/api/v1/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {account.proxy_key}"},
                )
                for _ in range(10)
            ]
        )
    statuses = [r.status_code for r in responses]
    served = statuses.count(200)
    assert served >= 1 and served + statuses.count(402) == 10, statuses
    rows = await wait_usage(account.id, served)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger >= 0
    assert balance == 1_000_000_000 - sum(row.charged_nano for row in rows)
    losses = await losses_of(account.id)
    full = sum(row.cost_nano * 11 // 10 for row in rows)  # cost plus the 10 % markup
    assert losses and sum(loss.amount_nano for loss in losses) == full - sum(
        row.charged_nano for row in rows
    )
    assert {loss.request_id for loss in losses} <= {row.request_id for row in rows}


async def test_web_searches_are_held_and_billed(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.web_search_requests = 3
    fake.behavior.input_tokens, fake.behavior.output_tokens = 100, 10
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]
    response = httpx.post(
        f"{app_url}/api/v1/messages",
        json={**BODY, "tools": tools},
        headers={**ANTHROPIC_HEADERS, "x-api-key": account.proxy_key},
        timeout=30,
    )
    assert response.status_code == 200
    (row,) = await wait_usage(account.id, 1)
    # haiku 4.5: 100 × $1/MTok + 10 × $5/MTok + 3 searches × $0.01, then the 5 % own-key fee
    assert row.web_search_calls == 3
    assert row.cost_nano == 100_000 + 50_000 + 30_000_000
    assert row.charged_nano == -(-row.cost_nano * 5 // 100)


async def test_openai_web_search_is_billed_per_choice(app_url, fake, make_account):
    account = await make_account(usd="1")  # platform key
    fake.behavior.input_tokens, fake.behavior.output_tokens = 100, 10
    response = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        json={
            "model": "gpt-4o",
            "n": 2,
            "web_search_options": {},
            "messages": [{"role": "user", "content": "news?"}],
        },
        headers={"Authorization": f"Bearer {account.proxy_key}"},
        timeout=30,
    )
    assert response.status_code == 200
    (row,) = await wait_usage(account.id, 1)
    # gpt-4o: 100 × $2.50/MTok + 10 × $10/MTok + 2 searches × $0.025, then the 10 % markup
    assert row.web_search_calls == 2
    assert row.cost_nano == 250_000 + 100_000 + 50_000_000
    assert row.charged_nano == row.cost_nano + -(-row.cost_nano // 10)


async def test_a_stream_dropped_before_its_first_event_charges_the_input_estimate(
    app_url, fake, make_account
):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.first_event_delay = 3  # the upstream answered 200, nothing sent yet
    body = json.dumps({**BODY, "stream": True}).encode()
    port = int(app_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
            + f"x-api-key: {account.proxy_key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 10
        while not fake.requests:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # the upstream's 200 has reached the proxy
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 200 and row.error_type == "client_disconnected"
    assert row.tokens_estimated and row.input_tokens == -(-len(body) // 4)
    assert row.charged_nano > 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 1_000_000_000 - row.charged_nano


# --- unmetered routes ---------------------------------------------------------------------------


async def test_unmetered_routes_need_credit_or_an_own_key(app_url, fake, make_account):
    broke = await make_account(usd="0")  # only the platform's OpenAI key could serve it
    own_key = await make_account(usd="0", provider_keys={"anthropic": ANTHROPIC_KEY})
    models = httpx.get(
        f"{app_url}/api/v1/models",
        headers={"Authorization": f"Bearer {broke.proxy_key}"},
        timeout=30,
    )
    assert models.status_code == 402 and models.json()["error"]["code"] == "insufficient_quota"
    counted = httpx.post(
        f"{app_url}/api/v1/messages/count_tokens",
        json=BODY,
        headers={**ANTHROPIC_HEADERS, "x-api-key": own_key.proxy_key},
        timeout=30,
    )
    assert counted.status_code == 200 and counted.json() == {"input_tokens": 25}
    assert len(fake.requests) == 1  # only the own-key request went upstream


async def test_unmetered_routes_are_rate_limited_per_key(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    other = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    limit = 120  # AIUSAGE_UNMETERED_RPM's default
    headers = {**ANTHROPIC_HEADERS, "x-api-key": account.proxy_key}
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        statuses = [
            (await client.get("/api/v1/models", headers=headers)).status_code
            for _ in range(limit + 1)
        ]
        assert statuses[:limit] == [200] * limit and statuses[limit] == 429
        limited = await client.get("/api/v1/models", headers=headers)
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert int(limited.headers["retry-after"]) > 0
        assert (
            await client.get("/api/v1/models", headers={**headers, "x-api-key": other.proxy_key})
        ).status_code == 200


# --- crashes: holds come back by themselves ----------------------------------------------------


def _stream(url: str, headers: dict, body: dict, out: list) -> None:
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
            out.append(response.status_code)
            for _ in response.iter_bytes():
                pass
    except httpx.HTTPError:
        out.append(-1)


def proxy_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **TEST_ENV, "AIUSAGE_HOLD_LEASE_SECONDS": "2", **extra}


async def test_killed_proxy_leaves_no_hold_behind(fake, make_account):
    """SIGKILL under load, then a restart: within a few leases and with no operator action,
    no hold is left, balance == ledger, and every forwarded request has one usage row."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/messages"
    process = start_standalone_proxy(port, RUN_DIR / f"proxy-kill-{port}.log", proxy_env())
    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    headers = {**ANTHROPIC_HEADERS, "x-api-key": account.proxy_key}
    restarted = None
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(10):
                assert client.post(url, json=BODY, headers=headers).status_code == 200
        fake.behavior.chunk_delay = 0.5
        fake.behavior.n_deltas = 20
        outcomes: list[int] = []
        threads = [
            threading.Thread(
                target=_stream, args=(url, headers, {**BODY, "stream": True}, outcomes)
            )
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while len(fake.requests) < 18:  # all eight streams are running upstream
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=30)
        assert await hold_rows(account.id) == 8  # what the crash left
        restarted = start_standalone_proxy(
            port, RUN_DIR / f"proxy-kill-{port}-2.log", proxy_env(), workers=1
        )
        deadline = time.monotonic() + 60
        while await hold_rows(account.id):
            assert time.monotonic() < deadline, "holds were not reclaimed within a minute"
            await asyncio.sleep(0.2)
    finally:
        for proc in (process, restarted):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    forwarded = len(fake.requests)
    rows = await wait_usage(account.id, forwarded)
    interrupted = [row for row in rows if row.error_type == "interrupted"]
    assert len(interrupted) == 8 and all(row.tokens_estimated for row in interrupted)
    assert all(row.charged_nano > 0 for row in rows)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - sum(row.charged_nano for row in rows)


async def test_surrogate_body_then_sigterm_stops_within_the_bound(fake, make_account):
    """The hostile body of the issue against a standalone proxy: refused, billing for
    another user goes on within a second, and SIGTERM stops the server in time."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/messages"
    process = start_standalone_proxy(
        port, RUN_DIR / f"proxy-term-{port}.log", proxy_env(), workers=1
    )
    attacker = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    victim = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    try:
        with httpx.Client(timeout=30) as client:
            bad = client.post(
                base,
                content=raw_body('"claude-\\ud800"'),
                headers={**ANTHROPIC_HEADERS, "x-api-key": attacker.proxy_key},
            )
            assert bad.status_code == 400
            for _ in range(3):
                ok = client.post(
                    base, json=BODY, headers={**ANTHROPIC_HEADERS, "x-api-key": victim.proxy_key}
                )
                assert ok.status_code == 200
        rows = await wait_usage(victim.id, 3, timeout=1.0)
        assert all(row.charged_nano > 0 for row in rows)
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        assert time.monotonic() - started < 12
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert await usage_count(attacker.id) == 0


async def usage_count(user_id: int) -> int:
    from aiusage.db import session_scope
    from aiusage.models import UsageRecord

    async with session_scope() as session:
        return (
            await session.execute(
                select(func.count()).select_from(UsageRecord).where(UsageRecord.user_id == user_id)
            )
        ).scalar_one()


async def test_a_batch_locked_out_past_the_busy_timeout_is_retried_not_set_aside(
    app_server, make_account
):
    """On SQLite the writer's batch runs as plain SQL in the lane: locked out longer than
    SQLite's busy timeout (10 s) it gets the driver's own OperationalError, which is the
    database's trouble, not the row's: retried until the lock is gone, never set aside."""
    import sqlite3

    from aiusage.config import get_settings
    from aiusage.proxy.holds import Holds
    from aiusage.proxy.usage_writer import UsageWriter

    account = await make_account(usd="1")
    holds, writer = Holds(), UsageWriter()
    await holds.start()
    writer.start(holds.lane)
    locker = sqlite3.connect(get_settings().data_dir / "aiusage.db", isolation_level=None)
    try:
        settlement = await held_settlement(account, holds, f"req_locked_{account.id}")
        locker.execute("BEGIN IMMEDIATE")  # nobody else can write now
        writer.submit(settlement)
        await asyncio.sleep(11)  # past the lane connection's busy timeout
        locker.execute("ROLLBACK")
        await asyncio.wait_for(writer.flushed(), 15)
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        await asyncio.wait_for(writer.stop(), 15)
        await holds.stop()
    assert writer.dead_count == 0
    (row,) = await wait_usage(account.id, 1)
    assert row.request_id == settlement.request_id
    assert await hold_rows(account.id) == 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 1_000_000_000 - row.charged_nano


async def test_a_hold_waits_off_the_event_loop_while_another_process_writes(
    app_server, make_account
):
    """On SQLite a hold is placed on the event loop's own connection, which never waits for
    the lock: while another connection holds SQLite's write lock the hold waits in the
    lane's thread (the loop stays free), then is placed once the lock is released."""
    import sqlite3

    from aiusage.config import get_settings
    from aiusage.proxy.holds import Holds

    account = await make_account(usd="1")
    holds = Holds()
    await holds.start()
    locker = sqlite3.connect(get_settings().data_dir / "aiusage.db", isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # nobody else can write now
        placing = asyncio.ensure_future(held_settlement(account, holds, f"req_wait_{account.id}"))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the hold waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not placing.done()
        locker.execute("ROLLBACK")
        await asyncio.wait_for(placing, 10)
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        await holds.stop()
    assert await hold_rows(account.id) == 1
    assert (await money_state(account.id))[1] == 50_000_000


async def test_a_stop_that_cannot_finish_keeps_the_rest_for_the_next_start(
    app_server, make_account
):
    """The database stays locked (another writer holds SQLite's lock): the stop ends within
    its bound and keeps the settlement in a file; the next start books it, once."""
    import sqlite3

    from aiusage.config import get_settings
    from aiusage.proxy.holds import Holds
    from aiusage.proxy.usage_writer import SPILL_DIR, UsageWriter

    account = await make_account(usd="1")
    holds = Holds()
    await holds.start()
    settlement = await held_settlement(account, holds, f"req_spilled_{account.id}", 4000)
    await holds.stop()

    spill_dir = get_settings().data_dir / SPILL_DIR
    locker = sqlite3.connect(get_settings().data_dir / "aiusage.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # nobody else can write now
    writer = UsageWriter()
    try:
        writer.start()
        writer.submit(settlement)
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await writer.stop()
        assert time.monotonic() - started < get_settings().usage_stop_timeout + 3
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    kept = list(spill_dir.glob("*.jsonl"))
    assert len(kept) == 1 and settlement.request_id in kept[0].read_text()

    for _ in range(2):  # a second start finds nothing more to book
        writer = UsageWriter()
        writer.start()
        await asyncio.wait_for(writer.flushed(), 15)
        await writer.stop()
    assert list(spill_dir.glob("*")) == []
    (row,) = await wait_usage(account.id, 1)
    assert row.request_id == settlement.request_id and row.charged_nano == settlement.charge_nano
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 1_000_000_000 - row.charged_nano
