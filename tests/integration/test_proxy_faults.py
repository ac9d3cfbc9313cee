"""Faults and refusals: the right status, in the caller's own error format, nothing lost or
charged twice, and the server keeps serving."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from tests.conftest import MAX_REQUEST_BYTES
from tests.helpers.support import settled_money, wait_usage

ANTHROPIC_KEY = "sk-ant-api03-" + "f" * 40 + "FaUl"
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hello"}],
}


def post_messages(
    app_url: str, key: str | None, body: bytes | None = None, **headers: str
) -> httpx.Response:
    all_headers = {"anthropic-version": "2023-06-01", "content-type": "application/json", **headers}
    if key is not None:
        all_headers["x-api-key"] = key
    return httpx.post(
        f"{app_url}/api/v1/messages",
        headers=all_headers,
        content=body if body is not None else json.dumps(BODY).encode(),
        timeout=15,
    )


def anthropic_error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == kind
    return payload["error"]["message"]


async def test_upstream_overloaded_529_stays_529_and_costs_nothing(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.status = 529
    sdk = anthropic.Anthropic(api_key=account.proxy_key, base_url=f"{app_url}/api", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as raised:
        sdk.messages.create(**BODY)
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 529 and row.charged_nano == 0
    assert await settled_money(account.id) == (1_000_000_000, 1_000_000_000)


async def test_openai_upstream_errors_pass_through_in_openai_shape(app_url, fake, make_account):
    account = await make_account(usd="1")
    fake.behavior.status = 429
    sdk = openai.OpenAI(api_key=account.proxy_key, base_url=f"{app_url}/api/v1", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 429 and row.charged_nano == 0


async def test_upstream_too_slow_gives_504(app_url, fake, make_account):
    account = await make_account(provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.response_delay = 6  # the test server's read timeout is 3 s
    response = post_messages(app_url, account.proxy_key)
    assert "did not answer in time" in anthropic_error(response, 504, "timeout_error")
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 504 and row.charged_nano == 0 and row.error_type == "upstream_timeout"
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 10_000_000_000


async def test_upstream_unreachable_gives_502(app_url, fake, make_account):
    account = await make_account(usd="1")
    fake.stop()
    try:
        response = httpx.post(
            f"{app_url}/api/v1/chat/completions",
            timeout=15,
            headers={"Authorization": f"Bearer {account.proxy_key}"},
            json={"model": "gpt-4o", "messages": []},
        )
    finally:
        fake.start()
    assert response.status_code == 502
    assert response.json()["error"]["message"] == "Could not reach the upstream provider."
    await settled_money(account.id)


async def test_client_disconnect_mid_stream_charges_what_was_seen(app_url, fake, make_account):
    account = await make_account(usd="2", provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.input_tokens = 400
    fake.behavior.output_tokens = 999  # never reported: the client leaves first
    fake.behavior.reply_text = "word " * 40
    fake.behavior.n_deltas = 20
    fake.behavior.chunk_delay = 0.1
    with httpx.stream(
        "POST",
        f"{app_url}/api/v1/messages",
        timeout=15,
        headers={"x-api-key": account.proxy_key, "anthropic-version": "2023-06-01"},
        json={**BODY, "stream": True, "max_tokens": 2000},
    ) as response:
        deltas = 0
        for line in response.iter_lines():
            deltas += line.startswith("event: content_block_delta")
            if deltas == 5:
                break  # hang up halfway
    (row,) = await wait_usage(account.id, 1)
    assert row.error_type == "client_disconnected"
    assert row.tokens_estimated and row.input_tokens == 400
    assert 0 < row.output_tokens < 999
    assert row.charged_nano > 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2_000_000_000 - row.charged_nano
    # The upstream request was cancelled, not read to the end.
    deadline = time.monotonic() + 5
    while "!client_disconnected" not in [name for _, name in fake.sent_log]:
        assert time.monotonic() < deadline, "upstream stream was not cancelled"
        time.sleep(0.05)
    assert sum(name == "content_block_delta" for _, name in fake.sent_log) < 20


async def test_upstream_drop_mid_stream_sends_an_error_event_and_charges_once(
    app_url, fake, make_account
):
    account = await make_account(usd="2", provider_keys={"anthropic": ANTHROPIC_KEY})
    fake.behavior.input_tokens = 300
    fake.behavior.drop_after_deltas = 2
    response = post_messages(
        app_url, account.proxy_key, json.dumps({**BODY, "stream": True}).encode()
    )
    assert response.status_code == 200
    assert "event: error" in response.text
    error = json.loads(response.text.split("event: error\ndata: ")[1].split("\n")[0])
    assert error["error"]["type"] == "api_error"
    (row,) = await wait_usage(account.id, 1)
    assert row.error_type == "upstream_stream_error" and row.input_tokens == 300
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2_000_000_000 - row.charged_nano


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_missing_wrong_and_revoked_keys_get_401(app_url, fake, make_account, provider):
    from aiusage.db import session_scope
    from aiusage.services import keys

    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    if provider == "anthropic":

        def call(key: str | None) -> httpx.Response:
            return post_messages(app_url, key)
    else:

        def call(key: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.post(
                f"{app_url}/api/v1/chat/completions",
                headers=headers,
                json={"model": "gpt-4o", "messages": []},
                timeout=15,
            )

    for key in (None, "sk-aiu-wrong-" + "x" * 30, account.proxy_key + "x"):
        response = call(key)
        assert response.status_code == 401
        if provider == "anthropic":
            anthropic_error(response, 401, "authentication_error")
        else:
            assert response.json()["error"]["code"] == "invalid_api_key"
    assert call(account.proxy_key).status_code == 200
    async with session_scope() as session:
        await keys.revoke_proxy_key(session, account.id, account.key_id)
    time.sleep(1.2)  # revocation takes effect within a second
    assert call(account.proxy_key).status_code == 401
    assert len(fake.requests) == 1  # nothing refused reached the upstream


async def test_huge_body_gets_413_and_malformed_json_400(app_url, fake, make_account):
    account = await make_account(provider_keys={"anthropic": ANTHROPIC_KEY})
    huge = json.dumps(
        {**BODY, "messages": [{"role": "user", "content": "x" * (MAX_REQUEST_BYTES + 10)}]}
    )
    anthropic_error(
        post_messages(app_url, account.proxy_key, huge.encode()), 413, "request_too_large"
    )
    anthropic_error(
        post_messages(app_url, account.proxy_key, b'{"model": "claude'),
        400,
        "invalid_request_error",
    )
    anthropic_error(
        post_messages(app_url, account.proxy_key, b"[1, 2]"), 400, "invalid_request_error"
    )
    openai_bad = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        content=b"{nope",
        headers={"Authorization": f"Bearer {account.proxy_key}"},
    )
    assert openai_bad.status_code == 400
    assert openai_bad.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests == []
    # A 100 KB body (normal for Claude Code) goes through.
    big = json.dumps({**BODY, "messages": [{"role": "user", "content": "y" * 100_000}]})
    assert post_messages(app_url, account.proxy_key, big.encode()).status_code == 200
    assert fake.requests[-1].body == big.encode()


async def test_no_credit_gets_402_before_anything_is_forwarded(app_url, fake, make_account):
    account = await make_account(usd="0", provider_keys={"anthropic": ANTHROPIC_KEY})
    anthropic_error(post_messages(app_url, account.proxy_key), 402, "billing_error")
    openai_refused = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        headers={"Authorization": f"Bearer {account.proxy_key}"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert openai_refused.status_code == 402
    assert openai_refused.json()["error"]["code"] == "insufficient_quota"
    assert fake.requests == []


async def test_key_limits_rpm_and_spend(app_url, fake, make_account):
    limited = await make_account(usd="5", provider_keys={"anthropic": ANTHROPIC_KEY}, rpm=2)
    assert post_messages(app_url, limited.proxy_key).status_code == 200
    assert post_messages(app_url, limited.proxy_key).status_code == 200
    third = post_messages(app_url, limited.proxy_key)
    anthropic_error(third, 429, "rate_limit_error")
    assert 0 < int(third.headers["retry-after"]) <= 60

    # A spend limit smaller than one request's worst case refuses it up front.
    tight = await make_account(
        usd="5", provider_keys={"anthropic": ANTHROPIC_KEY}, spend_limit_usd="0.000001"
    )
    message = anthropic_error(post_messages(app_url, tight.proxy_key), 402, "billing_error")
    assert "spend limit" in message


async def test_unknown_model_is_forwarded_priced_by_default_and_flagged(
    app_url, fake, make_account
):
    account = await make_account(usd="1", provider_keys={"anthropic": ANTHROPIC_KEY})
    body = json.dumps({**BODY, "model": "claude-brand-new-9"}).encode()
    assert post_messages(app_url, account.proxy_key, body).status_code == 200
    (row,) = await wait_usage(account.id, 1)
    assert row.model == "claude-brand-new-9" and row.priced_by_default and row.charged_nano > 0


def test_preflight_and_unknown_paths(app_url):
    head = httpx.head(f"{app_url}/api")
    assert head.status_code == 200
    missing = httpx.post(f"{app_url}/api/v1/nothing-here", json={})
    assert missing.status_code == 404 and missing.json()["type"] == "error"
