"""The Anthropic route through the real app, with the official SDK as the client."""

from __future__ import annotations

import time

import anthropic
import pytest

from tests.helpers.pricing_check import byok_charge_nano, cost_usd
from tests.helpers.support import settled_money, wait_usage

USER_KEY = "sk-ant-api03-" + "u" * 40 + "AbCd"


def client(app_url: str, key: str, **kwargs) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=f"{app_url}/api", max_retries=0, **kwargs)


async def test_message_is_forwarded_metered_and_charged(app_url, fake, make_account):
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 1200
    fake.behavior.output_tokens = 345
    fake.behavior.cache_creation_5m = 100
    fake.behavior.cache_creation_1h = 50
    fake.behavior.cache_read = 20_000
    fake.behavior.reply_text = "Exactly this reply."

    reply = client(app_url, account.proxy_key).messages.create(
        model="claude-sonnet-4-5",
        max_tokens=1000,
        messages=[{"role": "user", "content": "Hi"}],
        extra_headers={"anthropic-beta": "context-management-2025-06-27"},
        extra_query={"beta": "true"},
    )

    assert reply.content[0].text == "Exactly this reply."
    assert reply.usage.cache_read_input_tokens == 20_000
    seen = fake.requests[-1]
    assert seen.path == "/v1/messages" and seen.query == "beta=true"
    assert seen.headers["x-api-key"] == USER_KEY  # the user's own key, decrypted
    assert account.proxy_key not in str(seen.headers)
    assert seen.headers["anthropic-beta"] == "context-management-2025-06-27"
    assert "cookie" not in seen.headers

    (row,) = await wait_usage(account.id, 1)
    assert (row.input_tokens, row.output_tokens) == (1200, 345)
    assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens, row.cache_read_tokens) == (
        100,
        50,
        20_000,
    )
    assert row.model == "claude-sonnet-4-5" and row.key_source == "byok"
    assert row.status == 200 and not row.streamed and not row.priced_by_default
    expected = byok_charge_nano(cost_usd("claude-sonnet-4-5", 1200, 345, 100, 50, 20_000))
    assert row.charged_nano == expected
    balance, ledger = await settled_money(account.id)
    assert balance == 5_000_000_000 - expected
    assert ledger == balance


async def test_stream_passes_through_and_keeps_the_latest_cumulative_usage(
    app_url, fake, make_account
):
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 40
    fake.behavior.output_tokens = 90
    fake.behavior.cache_creation_1h = 300
    fake.behavior.usage_updates = 3  # three cumulative message_delta counts: keep the last
    fake.behavior.reply_text = "one two three four five six"
    fake.behavior.n_deltas = 6

    with client(app_url, account.proxy_key).messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=500,
        messages=[{"role": "user", "content": "go"}],
        extra_headers={"X-Claude-Code-Session-Id": "session-abc"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "one two three four five six"
    assert final.usage.output_tokens == 90
    (row,) = await wait_usage(account.id, 1)
    assert row.streamed and row.output_tokens == 90 and row.input_tokens == 40
    assert row.cache_write_1h_tokens == 300 and row.cache_write_5m_tokens == 0
    assert row.client_session_id == "session-abc"
    assert row.ttfb_ms is not None and row.ttfb_ms <= row.latency_ms
    expected = byok_charge_nano(cost_usd("claude-sonnet-4-5", 40, 90, 0, 300, 0))
    assert row.charged_nano == expected
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - expected


async def test_stream_is_not_buffered(app_url, fake, make_account):
    account = await make_account(provider_keys={"anthropic": USER_KEY})
    fake.behavior.n_deltas = 8
    fake.behavior.reply_text = "a b c d e f g h"
    fake.behavior.chunk_delay = 0.05

    arrivals = []
    with client(app_url, account.proxy_key).messages.stream(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        for _ in stream.text_stream:
            arrivals.append(time.monotonic())

    sent = [t for t, name in fake.sent_log if name == "content_block_delta"]
    assert len(sent) == len(arrivals) == 8
    # The first token reaches the client long before the upstream sends the last one.
    assert arrivals[0] < sent[-1] - 0.25
    assert arrivals[-1] - arrivals[0] >= 0.3


async def test_count_tokens_and_models_are_forwarded_and_not_charged(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 77
    sdk = client(app_url, account.proxy_key)
    counted = sdk.messages.count_tokens(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "count me"}]
    )
    assert counted.input_tokens == 77
    models = sdk.models.list()
    assert len(models.data) > 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 1_000_000_000


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
async def test_compressed_responses_are_passed_on_and_still_metered(
    app_url, fake, make_account, encoding
):
    account = await make_account(provider_keys={"anthropic": USER_KEY})
    fake.behavior.compress = encoding
    fake.behavior.output_tokens = 321
    import httpx

    headers = {
        "x-api-key": account.proxy_key,
        "anthropic-version": "2023-06-01",
        "accept-encoding": encoding,
    }
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 400,
        "messages": [{"role": "user", "content": "hi"}],
    }
    plain = httpx.post(f"{app_url}/api/v1/messages", json=body, headers=headers, timeout=10)
    assert plain.headers["content-encoding"] == encoding
    assert plain.json()["usage"]["output_tokens"] == 321  # httpx decodes what we passed on
    streamed = httpx.post(
        f"{app_url}/api/v1/messages", json={**body, "stream": True}, headers=headers, timeout=10
    )
    assert streamed.headers["content-encoding"] == encoding
    assert "event: message_stop" in streamed.text
    rows = await wait_usage(account.id, 2)
    assert [r.output_tokens for r in rows] == [321, 321]
    assert [r.streamed for r in rows] == [False, True]


async def test_usage_is_rolled_up_per_hour_as_it_is_written(app_url, fake, make_account):
    from sqlalchemy import select

    from aiusage.db import session_scope
    from aiusage.models import UsageHourly

    account = await make_account(provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 11
    fake.behavior.output_tokens = 7
    fake.behavior.cache_read = 100
    sdk = client(app_url, account.proxy_key)
    for _ in range(3):
        sdk.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    rows = await wait_usage(account.id, 3)
    async with session_scope() as session:
        (rollup,) = (
            await session.execute(select(UsageHourly).where(UsageHourly.user_id == account.id))
        ).scalars()
    assert rollup.requests == 3 and rollup.errors == 0
    assert (rollup.input_tokens, rollup.output_tokens, rollup.cache_read_tokens) == (33, 21, 300)
    assert rollup.charged_nano == sum(r.charged_nano for r in rows)
    assert rollup.hour == rows[0].created_at.replace(minute=0, second=0, microsecond=0)
    assert sum(getattr(rollup, f"lat_{i}") for i in range(10)) == 3


@pytest.mark.parametrize(("cache_read", "band"), [(90_000, ""), (110_000, " long")])
async def test_long_prompts_are_charged_at_the_models_long_prompt_rates(
    app_url, fake, make_account, cache_read, band
):
    # Claude Haiku 5.5 charges every token at dearer rates once the prompt (input + cache
    # writes + cache reads) is over 100k tokens.
    account = await make_account(usd="5", provider_keys={"anthropic": USER_KEY})
    fake.behavior.input_tokens = 500
    fake.behavior.cache_read = cache_read
    fake.behavior.output_tokens = 800
    client(app_url, account.proxy_key).messages.create(
        model="claude-haiku-5-5", max_tokens=1000, messages=[{"role": "user", "content": "x"}]
    )
    (row,) = await wait_usage(account.id, 1)
    expected = byok_charge_nano(cost_usd("claude-haiku-5-5" + band, 500, 800, 0, 0, cache_read))
    assert row.charged_nano == expected and not row.priced_by_default
