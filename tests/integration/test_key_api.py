"""The key-scoped usage API (`GET /api/v1/key`, `GET /api/v1/key/usage`), through the real app:
a key sees its own settings, spend and days, the same figures as the dashboard, and nothing of
its owner's other keys or of any other account."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import httpx
import openai

from tests.helpers.support import settled_money, usage_rows, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "k" * 40 + "KeyA"
PROMPT = [{"role": "user", "content": "say hello"}]


def usd(nano: int) -> str:
    whole, frac = divmod(nano, 1_000_000_000)
    return f"{whole}.{frac:09d}"


async def new_key(user_id: int, name: str, **rules: Any) -> tuple[int, str]:
    from aiusage.db import session_scope
    from aiusage.services import keys

    async with session_scope() as session:
        key, plaintext = await keys.create_proxy_key(session, user_id, name, **rules)
    assert key.id is not None
    return key.id, plaintext


async def get(app_url: str, path: str, key: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        return await client.get(path, headers=headers, **kwargs)


def openai_chat(app_url: str, key: str, times: int = 1) -> None:
    sdk = openai.OpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0)
    for _ in range(times):
        sdk.chat.completions.create(model="gpt-4o", messages=PROMPT, max_tokens=50)


def anthropic_messages(app_url: str, key: str) -> None:
    sdk = anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0)
    sdk.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=PROMPT)
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=50, messages=PROMPT) as s:
        assert "".join(s.text_stream)


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


async def wait_until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_key_info_shows_that_key_only(app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.money import usd_to_nano
    from aiusage.services import billing, keys

    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    other = await make_account(usd="3")
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    key_a, secret_a = await new_key(
        account.id,
        "status bar",
        spend_limit_nano=usd_to_nano("4.5"),
        rpm_limit=500,
        tpm_limit=1_000_000,
        allowed_models="gpt-4o*, claude-haiku-*",
        allowed_networks="127.0.0.0/8, 10.0.0.0/8",
        expires_at=expires,
    )
    openai_chat(app_url, secret_a, times=2)
    anthropic_messages(app_url, secret_a)
    openai_chat(app_url, account.proxy_key)  # key B, same user
    openai_chat(app_url, other.proxy_key)  # another user
    rows = await wait_usage(account.id, 5)
    await wait_usage(other.id, 1)
    await settled_money(account.id)
    spent_a = sum(r.charged_nano for r in rows if r.proxy_key_id == key_a)
    spent_b = sum(r.charged_nano for r in rows if r.proxy_key_id == account.key_id)
    assert spent_a > 0 and spent_b > 0

    response = await get(app_url, "/api/v1/key", secret_a)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()["data"]
    async with session_scope() as session:
        balance, held = await billing.balance(session, account.id)
        shown = {k.id: k for k in await keys.list_proxy_keys(session, account.id)}
    key_row = shown[key_a]
    assert data == {
        "name": "status bar",
        "prefix": key_row.prefix,
        "created_at": key_row.created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "last_used_at": data["last_used_at"],
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
        "disabled": False,
        "limits": {
            "spend_limit_usd": "4.500000000",
            "rpm": 500,
            "tpm": 1_000_000,
            "budget_usd": None,
            "budget_period": None,
            "allowed_models": ["gpt-4o*", "claude-haiku-*"],
            "allowed_networks": ["127.0.0.0/8", "10.0.0.0/8"],
        },
        "spend": {"lifetime_usd": usd(spent_a), "period_usd": None, "held_usd": "0.000000000"},
        "next_reset": None,
        "balance": {"available_usd": usd(balance - held)},
    }
    assert data["last_used_at"] is not None and data["last_used_at"].endswith("Z")
    assert secret_a.startswith(data["prefix"])
    # What the keys page shows for the key (its spent_nano) is the same lifetime spend.
    assert key_row.spent_nano == spent_a
    assert held == 0
    # Nothing of key B or of the other account.
    text = response.text
    assert "test key" not in text and shown[account.key_id].prefix not in text
    assert other.proxy_key[:15] not in text and usd(spent_a + spent_b) not in text

    # x-api-key works as well; key B sees its own spend.
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        same = await client.get("/api/v1/key", headers={"x-api-key": secret_a})
        own_b = await client.get("/api/v1/key/", headers={"x-api-key": account.proxy_key})
    assert same.json()["data"]["spend"] == data["spend"]
    assert own_b.json()["data"]["name"] == "test key"
    assert own_b.json()["data"]["spend"]["lifetime_usd"] == usd(spent_b)

    # A daily budget: shown with this period's spend and the next midnight (UTC).
    async with session_scope() as session:
        await keys.update_proxy_key(
            session, account.id, key_a, budget_nano=usd_to_nano("2"), budget_period="day"
        )
    await asyncio.sleep(1.2)  # the proxy's key cache
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    data = (await get(app_url, "/api/v1/key", secret_a)).json()["data"]
    assert data["limits"]["budget_usd"] == "2.000000000"
    assert data["limits"]["budget_period"] == "day"
    assert data["next_reset"] == midnight.isoformat().replace("+00:00", "Z")
    # A budget set mid-day counts what the key already spent today (all of it, here).
    assert data["spend"]["period_usd"] == usd(spent_a) != "0.000000000"
    openai_chat(app_url, secret_a)
    rows = await wait_usage(account.id, 6)
    await settled_money(account.id)
    data = (await get(app_url, "/api/v1/key", secret_a)).json()["data"]
    assert data["spend"]["period_usd"] == usd(spent_a + rows[-1].charged_nano)
    assert data["spend"]["lifetime_usd"] == usd(spent_a + rows[-1].charged_nano)
    assert data["spend"]["held_usd"] == "0.000000000"
    async with session_scope() as session:
        balance, held = await billing.balance(session, account.id)
    assert data["balance"]["available_usd"] == usd(balance - held)

    # Asking is free: no usage row, no charge.
    for path in ("/api/v1/key", "/api/v1/key/usage"):
        assert (await get(app_url, path, secret_a)).status_code == 200
    await asyncio.sleep(0.3)
    assert len(await usage_rows(account.id)) == 6
    async with session_scope() as session:
        assert await billing.balance(session, account.id) == (balance, held)


async def _add_past_rollups(rows: list[dict[str, Any]]) -> None:
    """Usage of earlier days, as the usage writer rolls it up (the dashboard reads those)."""
    from aiusage.db import session_scope
    from aiusage.proxy.rollups import add_rollups

    base = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "key_source": "platform",
        "status": 200,
        "error_type": None,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 0,
        "latency_ms": 120,
    }
    async with session_scope() as session:
        await add_rollups(session, [{**base, **row} for row in rows])


async def test_key_usage_days_match_the_dashboard(app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.services import usage

    account = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY})
    other = await make_account(usd="3")
    key_a, secret_a = await new_key(account.id, "usage days")
    openai_chat(app_url, secret_a, times=2)
    anthropic_messages(app_url, secret_a)
    openai_chat(app_url, account.proxy_key)
    openai_chat(app_url, other.proxy_key)
    rows = await wait_usage(account.id, 5)
    await wait_usage(other.id, 1)

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def past(user_id: int, key_id: int, at: datetime, tokens: int, nano: int, status=200):
        return {
            "user_id": user_id,
            "proxy_key_id": key_id,
            "created_at": at,
            "status": status,
            "input_tokens": tokens,
            "output_tokens": tokens // 2,
            "cache_read_tokens": 7,
            "cost_nano": nano,
            "charged_nano": nano + 1,
        }

    await _add_past_rollups(
        [
            # Either side of a UTC midnight, two days back and one day back.
            past(account.id, key_a, today - timedelta(days=1, minutes=30), 100, 1_000_001),
            past(account.id, key_a, today - timedelta(hours=23, minutes=50), 200, 2_000_003),
            past(account.id, key_a, today - timedelta(hours=23, minutes=40), 50, 5, status=500),
            past(account.id, key_a, today - timedelta(days=6) + timedelta(hours=12), 10, 123),
            # Just before the 7-day window.
            past(account.id, key_a, today - timedelta(days=7) + timedelta(hours=23), 40, 77),
            # Key B, and another account, on the same days.
            past(account.id, account.key_id, today - timedelta(hours=20), 999, 999_999),
            past(other.id, other.key_id, today - timedelta(hours=20), 888, 888_888),
        ]
    )

    response = await get(app_url, "/api/v1/key/usage", secret_a, params={"days": "7"})
    assert response.status_code == 200, response.text
    days = response.json()["data"]
    assert [d["date"] for d in days] == [
        (today - timedelta(days=6 - i)).date().isoformat() for i in range(7)
    ]
    assert set(days[0]) == {
        "date",
        "requests",
        "errors",
        "input_tokens",
        "output_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
        "cost_usd",
        "charged_usd",
    }

    # The dashboard's figures for this key over "last 7 days" in UTC, day by day.
    params = {"range": "7d", "key": str(key_a), "tz": "0"}
    flt, rng = usage.filter_from_params(account.id, params)
    async with session_scope() as session:
        series = {b.label: b.totals for b in await usage.series(session, flt, rng.bucket)}
    assert rng.bucket == "day"
    assert [d["date"] for d in days] == usage.bucket_labels(rng)
    for day in days:
        shown = series.get(day["date"], usage.Totals())
        assert day == {
            "date": day["date"],
            "requests": shown.requests,
            "errors": shown.errors,
            "input_tokens": shown.input_tokens,
            "output_tokens": shown.output_tokens,
            "cache_write_tokens": shown.cache_write_tokens,
            "cache_read_tokens": shown.cache_read_tokens,
            "cost_usd": usd(shown.cost_nano),
            "charged_usd": usd(shown.charged_nano),
        }

    # Today: exactly key A's usage rows; the days before: what was rolled up for key A only.
    mine = [r for r in rows if r.proxy_key_id == key_a]
    assert days[-1]["requests"] == len(mine) == 4
    assert days[-1]["input_tokens"] == sum(r.input_tokens for r in mine)
    assert days[-1]["output_tokens"] == sum(r.output_tokens for r in mine)
    assert days[-1]["cost_usd"] == usd(sum(r.cost_nano for r in mine))
    assert days[-1]["charged_usd"] == usd(sum(r.charged_nano for r in mine))
    assert days[-2] == {
        "date": days[-2]["date"],
        "requests": 2,
        "errors": 1,
        "input_tokens": 250,
        "output_tokens": 125,
        "cache_write_tokens": 0,
        "cache_read_tokens": 14,
        "cost_usd": usd(2_000_008),
        "charged_usd": usd(2_000_010),
    }
    assert days[-3]["requests"] == 1 and days[-3]["charged_usd"] == usd(1_000_002)
    assert days[0]["requests"] == 1 and days[0]["cost_usd"] == usd(123)
    assert [d["requests"] for d in days[1:4]] == [0, 0, 0]
    assert days[1]["charged_usd"] == "0.000000000"

    # A longer window reaches the older day; the default is 30 days, up to 366.
    eight = (await get(app_url, "/api/v1/key/usage", secret_a, params={"days": 8})).json()
    assert len(eight["data"]) == 8 and eight["data"][0]["cost_usd"] == usd(77)
    assert eight["data"][1:] == days
    default = (await get(app_url, "/api/v1/key/usage", secret_a)).json()["data"]
    assert len(default) == 30 and default[-8:] == eight["data"]
    year = (await get(app_url, "/api/v1/key/usage?days=366", secret_a)).json()["data"]
    assert len(year) == 366 and sum(d["requests"] for d in year) == 4 + 5

    # Key B and the other account see their own days only.
    b_days = (await get(app_url, "/api/v1/key/usage?days=2", account.proxy_key)).json()["data"]
    assert [d["requests"] for d in b_days] == [1, 1]
    assert b_days[0]["input_tokens"] == 999
    other_days = (await get(app_url, "/api/v1/key/usage?days=2", other.proxy_key)).json()
    assert [d["requests"] for d in other_days["data"]] == [1, 1]
    assert other_days["data"][0]["input_tokens"] == 888


async def test_key_api_refusals(app_url, fake, make_account):
    from aiusage.db import session_scope
    from aiusage.services import keys

    account = await make_account(usd="1")
    key_id, secret = await new_key(account.id, "to revoke")
    for path in ("/api/v1/key", "/api/v1/key/usage"):
        assert_openai_error(await get(app_url, path, None), 401)
        error = assert_openai_error(await get(app_url, path, "sk-aiu-" + "x" * 43), 401)
        assert error["code"] == "invalid_api_key"
        for days in ("0", "abc", "100000", "", "-1", "367", "1.5"):
            response = await get(app_url, path, account.proxy_key, params={"days": days})
            if path == "/api/v1/key":
                assert response.status_code == 200  # the key's info takes no parameters
            else:
                error = assert_openai_error(response, 400)
                assert error["type"] == "invalid_request_error" and "days" in error["message"]
        async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
            for method in ("POST", "PUT", "DELETE"):
                response = await client.request(
                    method, path, headers={"Authorization": f"Bearer {account.proxy_key}"}
                )
                assert "GET" in assert_openai_error(response, 405)["message"]

    # Revoked: refused at once, even while the proxy's key cache still knows the key.
    assert (await get(app_url, "/api/v1/key", secret)).status_code == 200
    async with session_scope() as session:
        await keys.revoke_proxy_key(session, account.id, key_id)
    for path in ("/api/v1/key", "/api/v1/key/usage"):
        assert_openai_error(await get(app_url, path, secret), 401)

    # Disabled: refused, with the reason.
    async with session_scope() as session:
        await keys.set_key_enabled(session, account.id, account.key_id, False)
    response = await get(app_url, "/api/v1/key", account.proxy_key)
    assert "disabled" in assert_openai_error(response, 401)["message"]

    # Rate-limited per key like the other unmetered routes.
    _, busy = await new_key(account.id, "busy")
    async with httpx.AsyncClient(base_url=app_url, timeout=30) as client:
        statuses = []
        for _ in range(1000):  # 120 a minute per key and process
            response = await client.get("/api/v1/key", headers={"x-api-key": busy})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
    assert int(response.headers["retry-after"]) >= 1
    assert assert_openai_error(response, 429)["code"] == "rate_limit_exceeded"
    assert json.loads(response.text)["error"]["type"] == "rate_limit_exceeded"
    # ... and that key's metered requests are untouched by it.
    openai_chat(app_url, busy)
    await wait_usage(account.id, 1)
