"""The proxy's routes (/api/v1/…) fuzzed against the real app server with hostile bodies,
headers and query strings (tests/helpers/fuzz_strategies.py): whatever arrives, the proxy answers in
the provider's own error shape with a 4xx, or forwards it — never a 5xx of its own; and
afterwards billing still works (another user's request is charged within seconds), nothing
was set aside by the usage writer, and the fuzzing account's balance equals its ledger.

Derandomized (fixed seed, no example database): CI sends the same few hundred requests every
time, in about a minute."""

from __future__ import annotations

import asyncio
import json

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers.fuzz_strategies import (
    fuzz,
    header_values,
    hostile_strings,
    json_bodies,
    json_values,
    numeric_strings,
    query_strings,
    weighted,
)
from tests.helpers.support import settled_money, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "f" * 40 + "FuZz"
ROUTES = (
    ("POST", "/api/v1/messages", "anthropic"),
    ("POST", "/api/v1/messages/count_tokens", "anthropic"),
    ("POST", "/api/v1/chat/completions", "openai"),
    ("GET", "/api/v1/models", "anthropic"),
    ("GET", "/api/v1/models", "openai"),
)
FIELDS = (
    "model",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stream",
    "messages",
    "tools",
    "stream_options",
    "web_search_options",
    "system",
    "metadata",
)
MODELS = ("claude-haiku-4-5", "gpt-4o", "claude-opus-4-1", "gpt-4o-mini")


@st.composite
def plausible_bodies(draw) -> bytes:
    """A request that would be served, but for one or two hostile fields."""
    body: dict = {
        "model": draw(st.sampled_from(MODELS)),
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True)):
        body[name] = draw(
            weighted(
                (3, hostile_strings()),
                (2, json_values()),
                (2, numeric_strings().map(_number_or_text)),
                (1, st.just([{"type": "web_search_20250305", "name": "s", "max_uses": 10**30}])),
            )
        )
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


def _number_or_text(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def headers_for(draw, provider: str, key: str) -> dict[bytes, bytes]:
    headers: dict[bytes, bytes] = {b"content-type": b"application/json"}
    credential = draw(weighted((6, st.just(key.encode())), (1, header_values())))
    if provider == "anthropic":
        headers[b"x-api-key"] = credential
        headers[b"anthropic-version"] = b"2023-06-01"
    else:
        headers[b"authorization"] = b"Bearer " + credential
    for name in (b"user-agent", b"x-claude-code-session-id", b"content-type", b"accept-encoding"):
        if draw(st.integers(0, 3)) == 0:
            headers[name] = draw(header_values(max_size=200))
    return headers


def error_shape_ok(provider: str, response: httpx.Response) -> bool:
    payload = response.json()
    if provider == "anthropic":
        return payload.get("type") == "error" and isinstance(payload["error"]["message"], str)
    return isinstance(payload["error"]["message"], str)


async def dead_settlements() -> int:
    from sqlalchemy import func, select

    from aiusage.db import session_scope
    from aiusage.models import DeadSettlement

    async with session_scope() as session:
        return (
            await session.execute(select(func.count()).select_from(DeadSettlement))
        ).scalar_one()


async def test_proxy_routes_answer_4xx_never_5xx_and_billing_goes_on(app_url, fake, make_account):
    account = await make_account(usd="50", provider_keys={"anthropic": ANTHROPIC_KEY})
    witness = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    dead_before = await dead_settlements()
    failures: list[str] = []

    @fuzz(300)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        method, path, provider = data.draw(st.sampled_from(ROUTES))
        query = data.draw(weighted((4, st.just(b"")), (1, query_strings(["beta", "limit"]))))
        url = path + ("?" + query if isinstance(query, str) else "")
        body = b""
        if method == "POST":
            body = data.draw(
                weighted((3, plausible_bodies()), (2, json_bodies(FIELDS)), (1, st.binary()))
            )
        headers = headers_for(data.draw, provider, account.proxy_key)
        try:
            response = client.request(method, url, content=body or None, headers=headers)
        except httpx.LocalProtocolError:
            return  # httpx refused to send it (a header it cannot encode): nothing to test
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {method} {url} {body[:200]!r} {headers}")
        elif response.status_code >= 400 and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            assert error_shape_ok(provider, response), response.text

    with httpx.Client(base_url=app_url, timeout=30) as client:
        await asyncio.to_thread(run)
    assert not failures, "\n".join(failures[:5])

    # Billing goes on for someone else, at once; nothing was set aside; money adds up.
    served = httpx.post(
        f"{app_url}/api/v1/messages",
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"x-api-key": witness.proxy_key, "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert served.status_code == 200
    (row,) = await wait_usage(witness.id, 1, timeout=5)
    assert row.charged_nano > 0
    assert await dead_settlements() == dead_before
    balance, ledger = await settled_money(account.id, timeout=30)
    assert balance == ledger >= 0
    health = httpx.get(f"{app_url}/api/health", timeout=10).json()
    assert health["status"] == "ok" and health["dead_settlements"] == dead_before
