"""Claude models on the Chat Completions route, through the real app, with the official
`openai` SDK as the client: the request goes to the (fake) Anthropic Messages API, the answer
comes back in OpenAI's shape, and usage is metered and priced from the Anthropic side."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.conftest import Account
from tests.fakes.upstream import FakeUpstream, RecordedRequest
from tests.helpers.pricing_check import byok_charge_nano, cost_usd
from tests.helpers.support import settled_money, wait_usage

MakeAccount = Callable[..., Awaitable[Account]]

ANTHROPIC_KEY = "sk-ant-api03-" + "c" * 40 + "ViaC"
OPENAI_KEY = "sk-proj-" + "c" * 40 + "ViaO"
CLAUDE = "claude-sonnet-4-5"  # listed under anthropic only: translated
CLAUDE_MAX_OUTPUT = 64_000  # its max_output_tokens in the price table: the default max_tokens
START_USD = "5"
START_NANO = 5_000_000_000
PNG_1X1 = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
    "AAAABJRU5ErkJggg=="
)
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}
WEATHER_CALL: dict[str, Any] = {
    "id": "toolu_01WeatherCallAbc123",
    "name": "get_weather",
    "input": {"city": "Paris", "unit": "celsius"},
}


def client(app_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{app_url}/api/v1", max_retries=0)


async def claude_account(make_account: MakeAccount, **keys: str) -> Account:
    """$5 of credit and the user's own Anthropic key (plus any other `keys`)."""
    return await make_account(usd=START_USD, provider_keys={"anthropic": ANTHROPIC_KEY, **keys})


def messages_calls(fake: FakeUpstream) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path == "/v1/messages"]


def sent(fake: FakeUpstream) -> dict[str, Any]:
    """The Anthropic Messages body of the one request the fake received."""
    (request,) = fake.requests
    assert request.path == "/v1/messages"
    return request.json()


def set_usage(fake: FakeUpstream, inp: int, out: int, cw5m: int, cw1h: int, read: int) -> None:
    b = fake.behavior
    b.input_tokens, b.output_tokens = inp, out
    b.cache_creation_5m, b.cache_creation_1h, b.cache_read = cw5m, cw1h, read


async def assert_billed(
    account: Account,
    model: str,
    inp: int,
    out: int,
    cw5m: int,
    cw1h: int,
    read: int,
    *,
    streamed: bool,
) -> None:
    """One usage row, on the Anthropic side of the chat route, charged to the nano-dollar by
    the Anthropic price row (BYOK fee), and the balance moved by that and nothing else."""
    (row,) = await wait_usage(account.id, 1)
    assert (row.provider, row.endpoint) == ("anthropic", "/v1/chat/completions")
    assert row.model == model and row.key_source == "byok" and not row.priced_by_default
    assert (row.status, row.streamed, row.error_type) == (200, streamed, None)
    assert (row.input_tokens, row.output_tokens) == (inp, out)
    assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens, row.cache_read_tokens) == (
        cw5m,
        cw1h,
        read,
    )
    expected = byok_charge_nano(cost_usd(CLAUDE, inp, out, cw5m, cw1h, read))
    assert row.charged_nano == expected > 0
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == START_NANO - expected


async def assert_not_charged(account: Account) -> None:
    balance, ledger = await settled_money(account.id)  # also: no hold left
    assert balance == ledger == START_NANO


def tool_call_arguments(chunks: list[ChatCompletionChunk]) -> tuple[str, str, str, int]:
    """(id, name, joined arguments, number of argument pieces) of the one streamed call."""
    ids: set[str] = set()
    names: set[str] = set()
    pieces: list[str] = []
    for chunk in chunks:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                assert call.index == 0
                if call.id:
                    ids.add(call.id)
                if call.function and call.function.name:
                    names.add(call.function.name)
                if call.function and call.function.arguments:
                    pieces.append(call.function.arguments)
    (call_id,), (name,) = ids, names
    return call_id, name, "".join(pieces), len(pieces)


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CLAUDE, CLAUDE + "-20250929"])
async def test_completion_is_translated_metered_and_charged_by_the_anthropic_row(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount, model: str
) -> None:
    account = await claude_account(make_account)
    set_usage(fake, inp=1200, out=345, cw5m=100, cw1h=50, read=20_000)
    fake.behavior.reply_text = "Claude, answering in OpenAI's shape."

    reply = client(app_url, account.proxy_key).chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
    )

    choice = reply.choices[0]
    assert choice.message.content == "Claude, answering in OpenAI's shape."
    assert choice.message.role == "assistant" and not choice.message.tool_calls
    assert choice.finish_reason == "stop" and len(reply.choices) == 1
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == model
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 1200 + 20_000 + 100 + 50
    assert reply.usage.completion_tokens == 345
    assert reply.usage.total_tokens == 1200 + 20_000 + 100 + 50 + 345
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 20_000

    body = sent(fake)
    assert body == {
        "model": model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "max_tokens": CLAUDE_MAX_OUTPUT,
        "system": "Be brief.",
    }
    headers = fake.requests[0].headers
    assert headers["x-api-key"] == ANTHROPIC_KEY  # the user's own key
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    assert account.proxy_key not in str(headers)
    assert headers["accept-encoding"] == "identity"  # the answer is rewritten: read it plain

    await assert_billed(account, model, 1200, 345, 100, 50, 20_000, streamed=False)


async def test_stream_with_usage_through_the_sdk_stream_helper(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    set_usage(fake, inp=40, out=90, cw5m=100, cw1h=300, read=5000)
    fake.behavior.usage_updates = 3  # cumulative message_delta counts: the last one counts
    fake.behavior.reply_text = "one two three four five six"
    fake.behavior.n_deltas = 6

    chunks: list[ChatCompletionChunk] = []
    deltas: list[str] = []
    with client(app_url, account.proxy_key).chat.completions.stream(
        model=CLAUDE,
        messages=[{"role": "user", "content": "count"}],
        max_tokens=500,
        stream_options={"include_usage": True},
    ) as stream:
        for event in stream:
            if event.type == "chunk":
                chunks.append(event.chunk)
            elif event.type == "content.delta" and event.delta:  # the role chunk's is ""
                deltas.append(event.delta)
        final = stream.get_final_completion()

    assert "".join(deltas) == "one two three four five six" and len(deltas) == 6
    assert final.choices[0].message.content == "one two three four five six"
    assert final.choices[0].finish_reason == "stop"
    # Usage only on the last chunk, which has no choices (as OpenAI sends it).
    assert all(chunk.usage is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens == 40 + 5000 + 100 + 300
    assert last.usage.completion_tokens == 90
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 5000
    assert final.usage == last.usage
    assert len({chunk.id for chunk in chunks}) == 1

    body = sent(fake)
    assert body["stream"] is True and body["max_tokens"] == 500
    assert "stream_options" not in body  # an OpenAI field: not sent to Anthropic

    await assert_billed(account, CLAUDE, 40, 90, 100, 300, 5000, streamed=True)


async def test_stream_without_include_usage_shows_no_usage_yet_is_billed_exactly(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    set_usage(fake, inp=70, out=33, cw5m=0, cw1h=0, read=900)
    request = {"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}], "stream": True}

    chunks = list(client(app_url, account.proxy_key).chat.completions.create(**request))

    assert chunks and all(chunk.usage is None for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake.behavior.reply_text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    await assert_billed(account, CLAUDE, 70, 33, 0, 0, 900, streamed=True)

    # On the wire: no "usage" key at all, and the stream ends with [DONE].
    fake.requests.clear()
    raw = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        json=request,
        headers={"Authorization": f"Bearer {account.proxy_key}"},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
    assert '"usage"' not in raw.text and raw.text.rstrip().endswith("data: [DONE]")
    assert "event:" not in raw.text  # OpenAI's SSE has data lines only
    rows = await wait_usage(account.id, 2)
    assert rows[1].charged_nano == rows[0].charged_nano


# --- tools -------------------------------------------------------------------------------------


async def test_tool_call_round_trip(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    sdk = client(app_url, account.proxy_key)
    fake.behavior.reply_text = "Let me look that up."
    fake.behavior.tool_use = WEATHER_CALL
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]

    reply = sdk.chat.completions.create(model=CLAUDE, messages=messages, tools=[WEATHER_TOOL])

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look that up."
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id == WEATHER_CALL["id"]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER_CALL["input"]
    first = sent(fake)
    assert first["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
            "description": "The weather in a city.",
        }
    ]
    assert "tool_choice" not in first

    # The loop goes on as an openai SDK user writes it: the assistant message as it came back,
    # then the tool's answer.
    fake.reset()
    fake.behavior.reply_text = "18°C and sunny in Paris."
    messages += [
        choice.message,
        {"role": "tool", "tool_call_id": call.id, "content": "18°C, sunny"},
    ]
    second = sdk.chat.completions.create(model=CLAUDE, messages=messages, tools=[WEATHER_TOOL])

    assert second.choices[0].message.content == "18°C and sunny in Paris."
    assert second.choices[0].finish_reason == "stop"
    assert sent(fake)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look that up."},
                {
                    "type": "tool_use",
                    "id": WEATHER_CALL["id"],
                    "name": "get_weather",
                    "input": WEATHER_CALL["input"],
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": WEATHER_CALL["id"], "content": "18°C, sunny"}
            ],
        },
    ]
    rows = await wait_usage(account.id, 2)
    assert all(row.provider == "anthropic" and row.charged_nano > 0 for row in rows)


async def test_streamed_tool_call_arguments_accumulate(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    sdk = client(app_url, account.proxy_key)
    fake.behavior.reply_text = ""  # the answer is the tool call alone
    fake.behavior.tool_use = WEATHER_CALL
    fake.behavior.tool_input_deltas = 4
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]

    chunks = list(
        sdk.chat.completions.create(
            model=CLAUDE,
            messages=messages,
            tools=[WEATHER_TOOL],
            tool_choice="required",
            parallel_tool_calls=False,
            stream=True,
        )
    )

    call_id, name, arguments, pieces = tool_call_arguments(chunks)
    assert (call_id, name) == (WEATHER_CALL["id"], "get_weather")
    assert json.loads(arguments) == WEATHER_CALL["input"] and pieces == 4
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls" and finishes.count("tool_calls") == 1
    assert not any(c.choices[0].delta.content for c in chunks if c.choices)
    assert sent(fake)["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}

    # The stream helper assembles the same call; then the tool's answer goes back, streamed.
    fake.reset()
    fake.behavior.tool_use = WEATHER_CALL
    with sdk.chat.completions.stream(
        model=CLAUDE,
        messages=messages,
        tools=[WEATHER_TOOL],
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    (call,) = message.tool_calls or []
    assert json.loads(call.function.arguments) == WEATHER_CALL["input"]

    fake.reset()
    fake.behavior.reply_text = "Sunny."
    messages += [
        {
            "role": "assistant",
            "content": message.content,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": "sunny"}]},
        {"role": "user", "content": "Thanks. In one word?"},
    ]
    answer = list(
        sdk.chat.completions.create(
            model=CLAUDE, messages=messages, tools=[WEATHER_TOOL], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in answer if c.choices) == "Sunny."
    body = sent(fake)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in body["messages"][1]["content"]] == ["text", "tool_use"]
    assert body["messages"][1]["content"][1]["id"] == WEATHER_CALL["id"]
    # The tool result leads the user message it shares with the next question.
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": WEATHER_CALL["id"], "content": "sunny"},
        {"type": "text", "text": "Thanks. In one word?"},
    ]
    rows = await wait_usage(account.id, 3)
    assert all(row.streamed and row.status == 200 for row in rows)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_call_without_arguments_has_an_empty_object_as_arguments(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount, stream: bool
) -> None:
    # Anthropic streams such a call as content_block_start with "input": {} and one empty
    # input_json_delta: the client must still get valid JSON ("{}"), not "".
    account = await claude_account(make_account)
    fake.behavior.reply_text = ""
    fake.behavior.tool_use = {"name": "now", "input": {}, "id": "toolu_01NoArguments"}
    request: dict[str, Any] = {
        "model": CLAUDE,
        "messages": [{"role": "user", "content": "What time is it?"}],
        "tools": [{"type": "function", "function": {"name": "now"}}],  # no parameters
    }
    sdk = client(app_url, account.proxy_key)

    if stream:
        chunks = list(sdk.chat.completions.create(**request, stream=True))
        call_id, name, arguments, _ = tool_call_arguments(chunks)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        choice = sdk.chat.completions.create(**request).choices[0]
        assert choice.message.content is None
        (call,) = choice.message.tool_calls or []
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
        finish = choice.finish_reason

    assert (call_id, name, arguments, finish) == ("toolu_01NoArguments", "now", "{}", "tool_calls")
    assert sent(fake)["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    ]


# --- images ------------------------------------------------------------------------------------


async def test_image_parts_become_anthropic_image_blocks(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    client(app_url, account.proxy_key).chat.completions.create(
        model=CLAUDE,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What are these?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1X1}"}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                    },
                ],
            }
        ],
    )

    assert sent(fake)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What are these?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_1X1},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ],
        }
    ]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_overloaded_upstream_is_a_503_in_openais_shape_and_costs_nothing(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount, stream: bool
) -> None:
    account = await claude_account(make_account)
    fake.behavior.status = 529
    fake.behavior.error_message = "Overloaded, please retry."

    with pytest.raises(openai.InternalServerError) as caught:
        client(app_url, account.proxy_key).chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": "hi"}], stream=stream
        )

    error = caught.value
    assert error.status_code == 503
    assert isinstance(error.body, dict) and error.body["message"] == "Overloaded, please retry."
    assert (error.type, error.code) == ("server_error", "overloaded")
    assert len(messages_calls(fake)) == 1
    (row,) = await wait_usage(account.id, 1)
    assert row.provider == "anthropic" and row.charged_nano == 0 and row.status >= 500
    await assert_not_charged(account)


async def test_upstream_400_keeps_its_message(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    fake.behavior.status = 400
    fake.behavior.error_message = "messages.0.content: text content blocks must be non-empty"

    with pytest.raises(openai.BadRequestError) as caught:
        client(app_url, account.proxy_key).chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": "hi"}]
        )

    error = caught.value
    assert error.status_code == 400
    assert isinstance(error.body, dict)
    assert error.body["message"] == "messages.0.content: text content blocks must be non-empty"
    assert error.type == "invalid_request_error"
    (row,) = await wait_usage(account.id, 1)
    assert (row.status, row.charged_nano) == (400, 0)
    await assert_not_charged(account)


async def test_an_error_event_midstream_reaches_the_sdk_as_an_api_error(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    fake.behavior.stream_error = "overloaded_error"  # after the text deltas, HTTP 200 sent
    fake.behavior.error_message = "Overloaded midway."
    request: dict[str, Any] = {
        "model": CLAUDE,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }

    text: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client(app_url, account.proxy_key).chat.completions.create(**request):
            text += [c.delta.content or "" for c in chunk.choices]

    assert "".join(text) == fake.behavior.reply_text  # what came before the error
    assert caught.value.message == "Overloaded midway."
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "overloaded"
    raw = httpx.post(
        f"{app_url}/api/v1/chat/completions",
        json=request,
        headers={"Authorization": f"Bearer {account.proxy_key}"},
        timeout=10,
    )
    events = [line for line in raw.text.splitlines() if line]
    assert events[-1] == "data: [DONE]"
    error = json.loads(events[-2].removeprefix("data: "))["error"]
    assert (error["message"], error["type"]) == ("Overloaded midway.", "server_error")
    # Whatever was charged for the two broken streams, the money adds up and nothing stays held.
    rows = await wait_usage(account.id, 2)
    assert [row.error_type for row in rows] == ["upstream_stream_error"] * 2
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == START_NANO - sum(row.charged_nano for row in rows)


@pytest.mark.parametrize(
    ("extra", "content", "says"),
    [
        ({"n": 2}, "hi", "n: only 1 is supported"),
        (
            {},
            [{"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}}],
            "image URLs must be https:// or data: URLs",
        ),
        ({"response_format": {"type": "json_object"}}, "hi", "response_format 'json_object'"),
        ({"reasoning_effort": "extreme"}, "hi", "reasoning_effort: expected"),
        ({"web_search_options": {}}, "hi", "web_search_options: not supported"),
    ],
)
async def test_untranslatable_requests_are_refused_before_the_upstream(
    app_url: str,
    fake: FakeUpstream,
    make_account: MakeAccount,
    extra: dict[str, Any],
    content: Any,
    says: str,
) -> None:
    account = await claude_account(make_account)

    with pytest.raises(openai.BadRequestError) as caught:
        client(app_url, account.proxy_key).chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": content}], **extra
        )

    assert caught.value.status_code == 400
    assert isinstance(caught.value.body, dict) and says in caught.value.body["message"]
    assert fake.requests == []
    await assert_not_charged(account)


async def test_no_anthropic_key_and_no_platform_key_is_a_403(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    from aiusage.config import get_settings

    assert not get_settings().platform_anthropic_key  # the session runs without one
    account = await make_account(usd=START_USD, provider_keys={"openai": OPENAI_KEY})

    with pytest.raises(openai.PermissionDeniedError) as caught:
        client(app_url, account.proxy_key).chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": "hi"}]
        )

    assert caught.value.status_code == 403
    assert isinstance(caught.value.body, dict)
    assert "No Anthropic key is set up" in caught.value.body["message"]
    assert caught.value.type == "permission_error"
    assert fake.requests == []
    await assert_not_charged(account)


# --- reasoning ---------------------------------------------------------------------------------


async def test_reasoning_effort_becomes_a_thinking_budget(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account)
    sdk = client(app_url, account.proxy_key)

    sdk.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "think"}],
        reasoning_effort="low",
        max_tokens=500,
        temperature=0.3,
    )

    body = sent(fake)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["max_tokens"] == 500 + 1024 > 1024  # Anthropic wants max_tokens > budget
    assert "temperature" not in body  # refused by Anthropic with thinking

    # Inside a tool loop, a Chat Completions client cannot send back the signed thinking
    # block Anthropic wants: no thinking then.
    fake.reset()
    sdk.chat.completions.create(
        model=CLAUDE,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        tools=[WEATHER_TOOL],
        reasoning_effort="low",
    )
    body = sent(fake)
    assert "thinking" not in body and body["max_tokens"] == CLAUDE_MAX_OUTPUT
    await wait_usage(account.id, 2)


# --- no regression for OpenAI models -----------------------------------------------------------


async def test_openai_models_on_the_same_route_still_go_to_openai_unchanged(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    account = await claude_account(make_account, openai=OPENAI_KEY)
    fake.behavior.input_tokens = 30
    fake.behavior.output_tokens = 44
    fake.behavior.reply_text = "gpt here"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]

    reply = client(app_url, account.proxy_key).chat.completions.create(
        model="gpt-4o-mini", messages=messages, max_tokens=50
    )

    assert reply.choices[0].message.content == "gpt here"
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.json() == {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 50}
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in request.headers and "anthropic-version" not in request.headers
    (row,) = await wait_usage(account.id, 1)
    assert (row.provider, row.endpoint, row.model) == (
        "openai",
        "/v1/chat/completions",
        "gpt-4o-mini",
    )
    expected = byok_charge_nano(cost_usd("gpt-4o-mini", inp=30, out=44))
    assert row.charged_nano == expected
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == START_NANO - expected


# --- the model list ----------------------------------------------------------------------------


async def test_the_openai_model_list_adds_the_claude_models_the_user_can_reach(
    app_url: str, fake: FakeUpstream, make_account: MakeAccount
) -> None:
    from aiusage.config import get_settings

    assert not get_settings().platform_anthropic_key  # Claude only with the user's own key
    both = await claude_account(make_account, openai=OPENAI_KEY)
    listed = [model.id for model in client(app_url, both.proxy_key).models.list()]
    (upstream,) = fake.requests
    assert (upstream.method, upstream.path) == ("GET", "/v1/models")
    assert upstream.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert CLAUDE in listed  # from the price table, with the user's own Anthropic key
    assert any(name.startswith("gpt-") for name in listed)  # the upstream's own list
    assert len(listed) == len(set(listed))

    fake.reset()
    openai_only = await make_account(usd=START_USD, provider_keys={"openai": OPENAI_KEY})
    listed = [model.id for model in client(app_url, openai_only.proxy_key).models.list()]
    assert listed and not any(name.startswith("claude") for name in listed)
