"""The OpenAI route through the real app, with the official SDK as the client."""

from __future__ import annotations

import json

import httpx
import openai

from tests.conftest import TEST_ENV
from tests.helpers.pricing_check import byok_charge_nano, cost_usd, platform_charge_nano
from tests.helpers.support import settled_money, wait_usage

USER_KEY = "sk-proj-" + "o" * 40 + "WxYz"


def client(app_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0)


async def test_completion_with_cached_tokens_priced_at_the_cached_rate(app_url, fake, make_account):
    account = await make_account(usd="3", provider_keys={"openai": USER_KEY})
    fake.behavior.input_tokens = 500  # uncached
    fake.behavior.cache_read = 1500  # prompt_tokens = 2000, of which 1500 cached
    fake.behavior.output_tokens = 250
    fake.behavior.reply_text = "openai says hi"

    reply = client(app_url, account.proxy_key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello"}], max_tokens=300
    )

    assert reply.choices[0].message.content == "openai says hi"
    assert reply.usage.prompt_tokens == 2000
    seen = fake.requests[-1]
    assert seen.headers["authorization"] == f"Bearer {USER_KEY}"
    (row,) = await wait_usage(account.id, 1)
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (500, 1500, 250)
    expected = byok_charge_nano(cost_usd("gpt-4o", inp=500, out=250, read=1500))
    assert row.charged_nano == expected
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 3_000_000_000 - expected


async def test_stream_gets_usage_added_and_hidden_when_the_client_did_not_ask(
    app_url, fake, make_account
):
    account = await make_account(usd="3")  # no own key: the platform key serves
    fake.behavior.input_tokens = 30
    fake.behavior.output_tokens = 44
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "temperature": 0.5,
    }

    chunks = list(client(app_url, account.proxy_key).chat.completions.create(**body))

    assert all(chunk.usage is None for chunk in chunks)  # the client did not ask for usage
    raw = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {account.proxy_key}"},
    )
    assert '"usage"' not in raw.text and raw.text.rstrip().endswith("data: [DONE]")
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == fake.behavior.reply_text
    )
    sent = json.loads(fake.requests[-1].body)
    assert sent["stream_options"] == {"include_usage": True}  # the one change we make
    assert sent["temperature"] == 0.5 and sent["messages"] == body["messages"]
    assert (
        fake.requests[-1].headers["authorization"]
        == f"Bearer {TEST_ENV['AIUSAGE_PLATFORM_OPENAI_KEY']}"
    )
    row, raw_row = await wait_usage(account.id, 2)
    assert raw_row.output_tokens == 44  # metered though the client never saw the usage
    assert (row.input_tokens, row.output_tokens, row.streamed) == (30, 44, True)
    assert row.key_source == "platform"
    assert row.charged_nano == platform_charge_nano(cost_usd("gpt-4o-mini", inp=30, out=44))


async def test_stream_usage_is_passed_on_when_asked_even_on_a_chunk_with_choices(
    app_url, fake, make_account
):
    account = await make_account(usd="3", provider_keys={"openai": USER_KEY})
    fake.behavior.openai_usage_chunk_has_choices = True
    fake.behavior.input_tokens = 10
    fake.behavior.cache_read = 90
    fake.behavior.output_tokens = 7
    body_bytes = (
        b'{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},'
        b'"messages":[{"role":"user","content":"x"}]}'
    )
    response = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        content=body_bytes,
        headers={
            "Authorization": f"Bearer {account.proxy_key}",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert fake.requests[-1].body == body_bytes  # forwarded byte for byte
    usage_chunks = [
        json.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: {") and '"usage":{' in line
    ]
    assert len(usage_chunks) == 1 and usage_chunks[0]["choices"]
    (row,) = await wait_usage(account.id, 1)
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (10, 90, 7)


async def test_models_list_in_openai_shape(app_url, fake, make_account):
    account = await make_account(provider_keys={"openai": USER_KEY})
    models = client(app_url, account.proxy_key).models.list()
    assert len(models.data) > 0
    assert fake.requests[-1].headers["authorization"] == f"Bearer {USER_KEY}"
