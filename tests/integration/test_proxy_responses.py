"""OpenAI's Responses API through the real app (`POST /api/v1/responses`), with the official
`openai` SDK as the client and the fake upstream behind: what the SDK gets, what reached the
upstream, the usage row, and the charge to the nano-dollar from the list prices."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.helpers.pricing_check import (
    byok_charge_nano,
    cost_usd,
    platform_charge_nano,
    to_nano_up,
)
from tests.helpers.support import money_state, settled_money, usage_rows, wait_usage

if TYPE_CHECKING:
    from aiusage.models import UsageRecord
    from tests.fakes.upstream import FakeUpstream

USER_KEY = "sk-proj-" + "r" * 40 + "RsPn"
MODEL = "gpt-4o"  # in the price table: $2.50 / $10 / $1.25 cached per MTok, max output 16,384
WEB_SEARCH_USD = Decimal("0.025")  # gpt-4o's web search fee per call (list price)
DOLLARS = 1_000_000_000  # nano-USD per USD


# --- helpers --------------------------------------------------------------------------------


def sdk(app_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0, timeout=30)


def raw_post(
    app_url: str, key: str, body: bytes, path: str = "/api/v1/responses", **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{app_url}{path}",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
        timeout=30,
    )


def raw_request(app_url: str, method: str, target: str, key: str) -> tuple[int, dict[str, Any]]:
    """One HTTP/1.1 request with the request target exactly as given (no client normalises
    `..` away): (status, JSON body)."""
    port = int(app_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        sock.sendall(head.encode() + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, body = data.partition(b"\r\n\r\n")
    return int(status_line.split(b" ", 2)[1]), json.loads(body)


def set_usage(
    fake: FakeUpstream, *, inp: int, cached: int = 0, out: int, reasoning: int = 0
) -> None:
    """What the fake reports: `inp` uncached input tokens (the usage says inp + cached),
    `out` output tokens besides the reasoning ones (the usage says out + reasoning)."""
    fake.behavior.input_tokens = inp
    fake.behavior.cache_read = cached
    fake.behavior.output_tokens = out
    fake.behavior.reasoning_tokens = reasoning


def charge(byok: bool, cost: Decimal) -> int:
    return byok_charge_nano(cost) if byok else platform_charge_nano(cost)


def expected_charge(fake: FakeUpstream, *, byok: bool, searches: int = 0) -> int:
    """The charge for the fake's current usage, from the list prices: uncached input at the
    input rate, cached input at the cached rate, all output (reasoning included) at the output
    rate, each web search at its fee; then the own-key fee or the platform markup."""
    b = fake.behavior
    tokens = cost_usd(
        MODEL, inp=b.input_tokens, out=b.output_tokens + b.reasoning_tokens, read=b.cache_read
    )
    return charge(byok, tokens + searches * WEB_SEARCH_USD)


def hold_of(request_bytes: int, max_output: int, *, byok: bool, searches: int = 0) -> int:
    """The worst case the proxy holds: every request byte an input token at the dearest input
    rate (gpt-4o's is its input rate), the output maximum, every allowed search."""
    worst = cost_usd(MODEL, inp=request_bytes, out=max_output) + searches * WEB_SEARCH_USD
    return charge(byok, worst)


def assert_row_matches_fake(
    row: UsageRecord, fake: FakeUpstream, *, streamed: bool, searches: int = 0
) -> None:
    b = fake.behavior
    assert (row.endpoint, row.model, row.provider) == ("/v1/responses", MODEL, "openai")
    assert row.status == 200 and row.error_type is None and not row.tokens_estimated
    assert row.streamed is streamed and not row.priced_by_default
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (
        b.input_tokens,
        b.cache_read,
        b.output_tokens + b.reasoning_tokens,
    )
    assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens) == (0, 0)
    assert row.web_search_calls == searches


def error_message(error: openai.APIError) -> str:
    """The message of an error in OpenAI's shape, as the SDK read it from the body."""
    assert isinstance(error.body, dict), error.body
    return error.body["message"]


async def assert_nothing_charged(user_id: int, usd: int) -> None:
    assert await money_state(user_id) == (usd * DOLLARS, 0, usd * DOLLARS)


# --- metered calls ------------------------------------------------------------------------------


async def test_create_bills_uncached_cached_and_reasoning_tokens_exactly(
    app_url, fake, make_account
):
    account = await make_account(usd="3", provider_keys={"openai": USER_KEY})
    set_usage(fake, inp=1_200, cached=3_000, out=40, reasoning=17)
    fake.behavior.reply_text = "responses say hi"

    response = sdk(app_url, account.proxy_key).responses.create(
        model=MODEL, input="hello", max_output_tokens=500
    )

    assert response.output_text == "responses say hi"
    assert response.status == "completed"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.input_tokens_details.cached_tokens) == (4_200, 3_000)
    assert (usage.output_tokens, usage.output_tokens_details.reasoning_tokens) == (57, 17)
    (seen,) = fake.requests
    assert (seen.method, seen.path) == ("POST", "/v1/responses")
    assert seen.headers["authorization"] == f"Bearer {USER_KEY}"
    assert seen.json()["max_output_tokens"] == 500
    (row,) = await wait_usage(account.id, 1)
    assert_row_matches_fake(row, fake, streamed=False)
    assert row.key_source == "byok"
    assert row.request_bytes == len(seen.body)
    cost = cost_usd(MODEL, inp=1_200, out=57, read=3_000)
    assert row.cost_nano == to_nano_up(cost)
    assert row.charged_nano == expected_charge(fake, byok=True) == byok_charge_nano(cost)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 3 * DOLLARS - row.charged_nano


async def test_stream_reaches_the_client_unchanged_and_is_billed_exactly(
    app_url, fake, make_account
):
    account = await make_account(usd="3")  # no own key: the platform key serves
    set_usage(fake, inp=700, cached=300, out=90, reasoning=33)
    fake.behavior.reply_text = "a streamed answer, in pieces"
    fake.behavior.n_deltas = 7

    with sdk(app_url, account.proxy_key).responses.stream(
        model=MODEL, input="stream please", max_output_tokens=800
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [event.type for event in events] == [name for _, name in fake.sent_log]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) == 7 and "".join(deltas) == fake.behavior.reply_text
    assert final.output_text == fake.behavior.reply_text
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (1_000, 123)
    (seen,) = fake.requests
    assert seen.json()["stream"] is True
    assert seen.headers["authorization"].startswith("Bearer sk-platform-openai-")
    (row,) = await wait_usage(account.id, 1)
    assert_row_matches_fake(row, fake, streamed=True)
    assert row.key_source == "platform"
    assert row.charged_nano == expected_charge(fake, byok=False)
    assert row.charged_nano == platform_charge_nano(cost_usd(MODEL, inp=700, out=123, read=300))
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 3 * DOLLARS - row.charged_nano


@pytest.mark.parametrize("final", ["incomplete", "failed"])
async def test_incomplete_and_failed_streams_are_billed_from_their_usage(
    app_url, fake, make_account, final
):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    set_usage(fake, inp=400, cached=100, out=64, reasoning=8)
    fake.behavior.responses_final = final

    events = list(
        sdk(app_url, account.proxy_key).responses.create(
            model=MODEL, input="long story", max_output_tokens=72, stream=True
        )
    )

    last = events[-1]
    assert last.type == f"response.{final}"
    assert last.response.status == final
    assert last.response.usage is not None and last.response.usage.output_tokens == 72
    (row,) = await wait_usage(account.id, 1)
    assert_row_matches_fake(row, fake, streamed=True)
    assert row.charged_nano == expected_charge(fake, byok=True) > 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2 * DOLLARS - row.charged_nano


# (reply, deltas, dropped after, max_output_tokens): a stream cut after some deltas, or one
# whose final event has "usage": null.
ESTIMATED = [
    pytest.param("x" * 400, 10, 4, 2_000, id="dropped"),
    pytest.param("x" * 400, 10, None, 2_000, id="no_final_usage"),
    pytest.param(
        "abcdefghijklmnop",
        16,
        15,
        16,
        id="dropped_one_token_deltas",
    ),
]


@pytest.mark.parametrize(("reply", "deltas", "drop_after", "max_output"), ESTIMATED)
async def test_a_stream_without_final_usage_is_charged_an_estimate_within_its_hold(
    app_url, fake, make_account, reply, deltas, drop_after, max_output
):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    fake.behavior.reply_text = reply
    fake.behavior.n_deltas = deltas
    fake.behavior.chunk_delay = 0.15  # the hold is read while the stream runs
    fake.behavior.drop_after_deltas = drop_after
    fake.behavior.omit_final_usage = drop_after is None
    held_mid_stream: list[int] = []
    seen_deltas = 0

    events = sdk(app_url, account.proxy_key).responses.create(
        model=MODEL, input="tell me everything", max_output_tokens=max_output, stream=True
    )
    try:
        for event in events:
            if event.type == "response.output_text.delta":
                seen_deltas += 1
                if seen_deltas == 1:
                    held_mid_stream.append((await money_state(account.id))[1])
        broken = False
    except openai.APIError:
        broken = True  # the proxy tells the client the upstream broke off

    assert broken is (drop_after is not None)
    assert seen_deltas == (drop_after or deltas)
    (seen,) = fake.requests
    hold = hold_of(len(seen.body), max_output, byok=True)
    assert held_mid_stream == [hold]
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 200 and row.streamed and row.tokens_estimated
    assert row.error_type == ("upstream_stream_error" if broken else None)
    assert row.input_tokens == -(-len(seen.body) // 4)  # request bytes / 4
    assert row.output_tokens >= seen_deltas  # at least one token per delta seen
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2 * DOLLARS - row.charged_nano
    assert 0 < row.charged_nano <= hold


@pytest.mark.parametrize("stream", [False, True])
async def test_web_searches_are_billed_per_call(app_url, fake, make_account, stream):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    set_usage(fake, inp=300, out=50)
    fake.behavior.web_search_calls = 2
    client = sdk(app_url, account.proxy_key)
    request: dict[str, Any] = {
        "model": MODEL,
        "input": "what happened today?",
        "tools": [{"type": "web_search"}],
        "max_output_tokens": 400,
    }

    if stream:
        events = list(client.responses.create(**request, stream=True))
        assert events[-1].type == "response.completed"
        output = events[-1].response.output
    else:
        output = client.responses.create(**request).output

    assert [item.type for item in output] == ["web_search_call", "web_search_call", "message"]
    (row,) = await wait_usage(account.id, 1)
    assert_row_matches_fake(row, fake, streamed=stream, searches=2)
    tokens = cost_usd(MODEL, inp=300, out=50)
    assert row.cost_nano == to_nano_up(tokens) + 2 * to_nano_up(WEB_SEARCH_USD)
    assert row.charged_nano == expected_charge(fake, byok=True, searches=2)
    assert row.charged_nano - byok_charge_nano(tokens) == byok_charge_nano(2 * WEB_SEARCH_USD)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2 * DOLLARS - row.charged_nano


# --- what crosses the proxy --------------------------------------------------------------------


async def test_the_body_query_and_beta_header_reach_the_upstream_as_sent(
    app_url, fake, make_account
):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    # Odd spacing, key order and escapes: any re-serialisation would show.
    body = (
        b'{ "model" : "gpt-4o", "input":[{"role":"user","content":"caf\\u00e9 \xe2\x98\x95"}],'
        b'"store":false,  "include":["reasoning.encrypted_content"],'
        b'"prompt_cache_key":"cache-\\/key-1","client_metadata":{"b":2,"a":1},'
        b'"text":{"format":{"type":"text"},"verbosity":"low"},'
        b'"reasoning":{"effort":"low","summary":"auto"},"max_output_tokens":300,'
        b'"unknown_future_field":[1.50,2e3,null]}'
    )

    response = raw_post(
        app_url,
        account.proxy_key,
        body,
        path="/api/v1/responses?foo=bar&x=%2F",
        **{"OpenAI-Beta": "responses=experimental"},
    )

    assert response.status_code == 200, response.text
    (seen,) = fake.requests
    assert seen.body == body  # byte for byte
    assert (seen.path, seen.query) == ("/v1/responses", "foo=bar&x=%2F")
    assert seen.headers["openai-beta"] == "responses=experimental"
    assert seen.headers["authorization"] == f"Bearer {USER_KEY}"
    answer = response.json()
    assert answer["store"] is False and answer["prompt_cache_key"] == "cache-/key-1"
    reasoning = answer["output"][0]
    assert reasoning["type"] == "reasoning" and reasoning["encrypted_content"].startswith("gAAAAAB")

    # The same fields from the SDK, with extra_body, extra_query and extra_headers.
    extra = {
        "prompt_cache_key": "pck-2",
        "client_metadata": {"session": "s-1"},
        "future_knob": {"on": True},
    }
    reply = sdk(app_url, account.proxy_key).responses.create(
        model=MODEL,
        input="hi",
        store=False,
        include=["reasoning.encrypted_content"],
        text={"verbosity": "low"},
        reasoning={"effort": "minimal"},
        max_output_tokens=100,
        extra_body=extra,
        extra_query={"foo": "bar"},
        extra_headers={"OpenAI-Beta": "responses=v1"},
    )
    assert reply.output_text == fake.behavior.reply_text
    sent = fake.requests[-1]
    assert sent.query == "foo=bar" and sent.headers["openai-beta"] == "responses=v1"
    assert sent.json() == {
        "model": MODEL,
        "input": "hi",
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "text": {"verbosity": "low"},
        "reasoning": {"effort": "minimal"},
        "max_output_tokens": 100,
        **extra,
    }
    rows = await wait_usage(account.id, 2)
    assert all(row.status == 200 and row.charged_nano > 0 for row in rows)


async def test_stored_response_routes_pass_through_unmetered(app_url, fake, make_account):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    client = sdk(app_url, account.proxy_key)
    created = client.responses.create(
        model=MODEL, input=[{"role": "user", "content": "remember me"}], max_output_tokens=50
    )
    (first,) = await wait_usage(account.id, 1)

    retrieved = client.responses.retrieve(created.id)
    items = client.responses.input_items.list(created.id)
    counted = client.responses.input_tokens.count(model=MODEL, input="how many tokens?")
    cancelled = client.responses.cancel(created.id)
    client.responses.delete(created.id)

    assert retrieved.id == created.id and retrieved.output_text == created.output_text
    assert [item.type for item in items.data] == ["message"]
    assert items.data[0].content[0].text == "remember me"
    assert counted.input_tokens == fake.behavior.input_tokens + fake.behavior.cache_read
    assert cancelled.id == created.id and cancelled.status == "cancelled"
    assert created.id not in fake.stored_responses  # the delete reached the upstream
    assert [(r.method, r.path) for r in fake.requests[1:]] == [
        ("GET", f"/v1/responses/{created.id}"),
        ("GET", f"/v1/responses/{created.id}/input_items"),
        ("POST", "/v1/responses/input_tokens"),
        ("POST", f"/v1/responses/{created.id}/cancel"),
        ("DELETE", f"/v1/responses/{created.id}"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {USER_KEY}" for r in fake.requests)

    # Paths that are no Responses route: 404 in OpenAI's shape, nothing forwarded.
    for method, target in (
        ("GET", "/api/v1/responses/../models"),
        ("POST", "/api/v1/responses/foo/bar"),
        ("GET", "/api/v1/responses/foo"),
        ("GET", f"/api/v1/responses/{created.id}/input_items/extra"),
        ("POST", f"/api/v1/responses/{created.id}/delete"),
    ):
        status, error = raw_request(app_url, method, target, account.proxy_key)
        assert status == 404, (target, error)
        assert error["error"]["type"] == "invalid_request_error", target
        assert error["error"]["code"] == "not_found"
    with pytest.raises(openai.NotFoundError):
        client.get("/responses/foo/bar", cast_to=object)
    assert len(fake.requests) == 6

    # One more metered call: had a pass-through written a row, it would be there before it.
    client.responses.create(model=MODEL, input="again", max_output_tokens=50)
    rows = await wait_usage(account.id, 2)
    assert rows[0].id == first.id and all(row.endpoint == "/v1/responses" for row in rows)
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 2 * DOLLARS - sum(row.charged_nano for row in rows)


# --- refusals and upstream errors ----------------------------------------------------------------


async def test_refusals_and_upstream_errors_in_openai_shape(app_url, fake, make_account):
    account = await make_account(usd="2", provider_keys={"openai": USER_KEY})
    client = sdk(app_url, account.proxy_key)
    request = {"model": MODEL, "input": "hi", "max_output_tokens": 50}

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(**request, background=True)
    assert "background" in error_message(refused.value)
    with pytest.raises(openai.BadRequestError) as too_big:
        client.responses.create(**{**request, "max_output_tokens": 10**24})
    assert "max_output_tokens" in error_message(too_big.value)
    with pytest.raises(openai.AuthenticationError) as unknown:
        sdk(app_url, "sk-aiusage-not-a-key").responses.create(**request)
    assert unknown.value.code == "invalid_api_key"
    assert fake.requests == []  # none of these reached the upstream
    await assert_nothing_charged(account.id, 2)  # and nothing is held or charged

    fake.behavior.error_message = "Rate limit reached for gpt-4o (fake)"
    fake.behavior.status = 429
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(**request)
    assert error_message(limited.value) == "Rate limit reached for gpt-4o (fake)"
    assert limited.value.code == "rate_limit_exceeded"
    fake.behavior.error_message = "The server had an error (fake)"
    fake.behavior.status = 500
    with pytest.raises(openai.InternalServerError) as failed:
        client.responses.create(**request, stream=True)
    assert error_message(failed.value) == "The server had an error (fake)"
    assert len(fake.requests) == 2

    rows = await wait_usage(account.id, 2)  # forwarded, refused upstream: recorded, not billed
    assert [row.status for row in rows] == [429, 500]
    assert all(row.charged_nano == 0 for row in rows)
    await assert_nothing_charged(account.id, 2)


async def test_the_hold_bounds_what_a_balance_can_ask_for(app_url, fake, make_account):
    """The output maximum bounds the hold (the model's own when the request names none):
    a request the balance cannot cover is refused before the upstream is called."""
    poor = await make_account(usd="0.10")  # the platform key serves
    client = sdk(app_url, poor.proxy_key)
    for asked in ({"max_output_tokens": 1_000_000}, {}):  # 1M tokens; gpt-4o's 16,384
        with pytest.raises(openai.APIStatusError) as refused:
            client.responses.create(model=MODEL, input="write a book", **asked)
        assert refused.value.status_code == 402
        assert refused.value.code == "insufficient_quota"
    assert fake.requests == []
    assert (await usage_rows(poor.id)) == []
    reply = client.responses.create(model=MODEL, input="one line", max_output_tokens=100)
    assert reply.output_text == fake.behavior.reply_text

    # At the exact boundary: a balance of exactly the hold is enough, one nano-dollar less not.
    body = b'{"model":"gpt-4o","input":"exactly","max_output_tokens":5000}'
    hold = hold_of(len(body), 5_000, byok=False)
    short = await make_account(usd=str(Decimal(hold - 1) / DOLLARS))
    enough = await make_account(usd=str(Decimal(hold) / DOLLARS))
    assert raw_post(app_url, short.proxy_key, body).status_code == 402
    assert raw_post(app_url, enough.proxy_key, body).status_code == 200
    assert len(fake.requests) == 2
    (row,) = await wait_usage(enough.id, 1)
    balance, ledger = await settled_money(enough.id)
    assert balance == ledger == hold - row.charged_nano
    assert await money_state(short.id) == (hold - 1, 0, hold - 1)


async def test_stored_context_is_held_at_the_largest_context_window(app_url, fake, make_account):
    """With `previous_response_id` (or a conversation, or a stored prompt) the upstream reads
    input the request does not carry: the hold covers a whole context window, so a small
    balance cannot run up a bill far beyond itself through a tiny request."""
    small = await make_account(usd="1")  # the platform key serves
    client = sdk(app_url, small.proxy_key)
    fake.behavior.input_tokens = 200_000  # what the stored conversation would cost
    for stored in (
        {"previous_response_id": "resp_earlier"},
        {"conversation": "conv_123"},
        {"prompt": {"id": "pmpt_1"}},
    ):
        with pytest.raises(openai.APIStatusError) as refused:
            client.responses.create(
                model=MODEL, input="and then?", max_output_tokens=16, extra_body=stored
            )
        assert refused.value.status_code == 402
    assert fake.requests == []
    assert (await usage_rows(small.id)) == []
    # Without stored context the same request fits easily.
    client.responses.create(model=MODEL, input="and then?", max_output_tokens=16)
    assert len(fake.requests) == 1


async def test_a_websocket_upgrade_is_refused_and_http_still_works(app_url, fake, make_account):
    account = await make_account(usd="1", provider_keys={"openai": USER_KEY})
    ws_url = app_url.replace("http://", "ws://") + "/api/v1/responses"

    with pytest.raises(InvalidStatus) as refused:
        ws_connect(
            ws_url,
            additional_headers={
                "Authorization": f"Bearer {account.proxy_key}",
                "OpenAI-Beta": "responses_websockets=2026-02-04",
            },
            open_timeout=15,
        )

    assert refused.value.response.status_code != 101
    assert 400 <= refused.value.response.status_code < 500
    assert fake.requests == []
    reply = sdk(app_url, account.proxy_key).responses.create(
        model=MODEL, input="over plain HTTP", max_output_tokens=50
    )
    assert reply.output_text == fake.behavior.reply_text
    (row,) = await wait_usage(account.id, 1)
    assert row.status == 200 and row.charged_nano == expected_charge(fake, byok=True)
