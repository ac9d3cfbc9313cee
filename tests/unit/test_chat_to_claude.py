"""aiusage.proxy.chat_to_claude: OpenAI Chat Completions requests become Anthropic Messages
requests, and Anthropic responses, streams and errors come back as the openai SDK's own types
accept them (checked with its pydantic models and its stream accumulator)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from aiusage.proxy.chat_to_claude import (
    ChunkTranslator,
    TranslationError,
    chat_completion,
    messages_request,
    openai_error,
    openai_usage,
)

MODEL = "claude-sonnet-4-5"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def translate(**fields: Any) -> dict[str, Any]:
    payload = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}
    return messages_request(payload, default_max_tokens=4096)


def rejected(**fields: Any) -> str:
    with pytest.raises(TranslationError) as caught:
        translate(**fields)
    return str(caught.value)


# --- requests --------------------------------------------------------------------------------


def test_minimal_request_and_dropped_fields() -> None:
    out = translate(
        stream=True,
        stream_options={"include_usage": True},
        seed=7,
        presence_penalty=0.5,
        store=True,
        response_format={"type": "text"},
        n=1,
        logprobs=False,
    )
    assert out == {
        "model": MODEL,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": 4096,
        "stream": True,
    }


def test_system_and_developer_messages_anywhere_become_system() -> None:
    out = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "assistant", "content": "Salut"},
            {"role": "system", "content": "   "},
            {"role": "user", "content": "again"},
        ]
    )
    assert out["system"] == "Be brief.\n\nAnswer in French."
    # The developer message between two user messages leaves them apart; they alternate here.
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][1]["content"] == [{"type": "text", "text": "Salut"}]


def test_consecutive_same_role_messages_merge_and_empty_ones_drop() -> None:
    out = translate(
        messages=[
            {"role": "user", "content": "one"},
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": None},
            {"role": "user", "content": ""},
            {"role": "assistant", "content": "prefill  \n"},
        ]
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        # A final assistant message (a prefill) may not end with whitespace.
        {"role": "assistant", "content": [{"type": "text", "text": "prefill"}]},
    ]


def test_images_data_url_and_https() -> None:
    out = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/jpg;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://x.test/a.webp"}},
                ],
            }
        ]
    )
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.webp"}},
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://x.test/a.png", "https:// or data:"),
        ("ftp://x.test/a.png", "https:// or data:"),
        ("data:image/png,notbase64", "base64"),
        (f"data:image/tiff;base64,{PNG}", "image/tiff"),
    ],
)
def test_bad_images_rejected(url: str, expected: str) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    message = rejected(messages=[{"role": "user", "content": [part]}])
    assert expected in message
    assert "messages[0].content[0]" in message


def test_other_user_parts_rejected() -> None:
    part = {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}
    assert "input_audio" in rejected(messages=[{"role": "user", "content": [part]}])


def test_tool_round_trip_request() -> None:
    out = translate(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "functions.weather:2",  # not a valid Anthropic id: made one
                        "type": "function",
                        "function": {"name": "now", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {
                "role": "tool",
                "tool_call_id": "functions.weather:2",
                "content": [{"type": "text", "text": "noon"}],
            },
            {"role": "user", "content": "Thanks. And Rome?"},
        ],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "functions_weather_2", "name": "now", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "functions_weather_2", "content": "noon"},
                {"type": "text", "text": "Thanks. And Rome?"},
            ],
        },
    ]
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in out


@pytest.mark.parametrize("arguments", ["not json", "[1, 2]", '"text"'])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    message = rejected(
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
        ]
    )
    assert "messages[1].tool_calls[0].function.arguments" in message


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, None, None),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("auto", True, {"type": "auto"}),
        ("none", False, {"type": "none"}),
    ],
)
def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    out = translate(tools=TOOLS, tool_choice=choice, parallel_tool_calls=parallel)
    assert out.get("tool_choice") == expected


def test_tool_choice_without_tools_is_dropped() -> None:
    assert "tool_choice" not in translate(tool_choice="required", parallel_tool_calls=False)


def test_max_tokens_stop_temperature_user() -> None:
    out = translate(
        max_tokens=100,
        max_completion_tokens=300,
        stop="END",
        temperature=1.7,
        user="user-42",
    )
    assert out["max_tokens"] == 300
    assert out["stop_sequences"] == ["END"]
    assert out["temperature"] == 1
    assert out["metadata"] == {"user_id": "user-42"}
    out = translate(max_tokens=50, stop=["a", "b"], temperature=0.3, top_p=0.9)
    assert (out["max_tokens"], out["stop_sequences"], out["temperature"]) == (50, ["a", "b"], 0.3)
    assert "top_p" not in out  # recent Claude models refuse temperature and top_p together
    assert translate(top_p=0.8)["top_p"] == 0.8
    assert "max_tokens: expected a positive integer" in rejected(max_tokens=0)


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget", "expected_max"),
    [
        ("low", 2000, 1024, 2000),
        ("medium", 1000, 4096, 5096),
        ("high", None, 16384, 20480),
        ("high", 16384, 16384, 32768),
        ("minimal", 1000, None, 1000),
        ("none", 1000, None, 1000),
    ],
)
def test_reasoning_effort(
    effort: str, max_tokens: int | None, budget: int | None, expected_max: int
) -> None:
    out = translate(reasoning_effort=effort, max_tokens=max_tokens, temperature=0.5, top_p=0.9)
    assert out["max_tokens"] == expected_max
    if budget is None:
        assert "thinking" not in out
        assert out["temperature"] == 0.5
    else:
        assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert out["max_tokens"] > budget
        assert "temperature" not in out and "top_p" not in out


def test_reasoning_effort_off_when_tools_are_forced_or_in_a_tool_loop() -> None:
    assert "thinking" not in translate(reasoning_effort="high", tools=TOOLS, tool_choice="required")
    assert "thinking" in translate(reasoning_effort="high", tools=TOOLS, tool_choice="auto")
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    loop = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ]
    # Claude wants the signed thinking block of the turn back; OpenAI clients cannot send it.
    assert "thinking" not in translate(messages=loop, tools=TOOLS, reasoning_effort="low")
    loop.append({"role": "assistant", "content": "Finished."})
    loop.append({"role": "user", "content": "next"})
    assert "thinking" in translate(messages=loop, tools=TOOLS, reasoning_effort="low")
    assert "reasoning_effort" in rejected(reasoning_effort="extreme")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"n": 2}, "n: only 1 is supported for Claude models"),
        ({"logprobs": True}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format 'json_object'"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "json_schema"),
        ({"functions": [{"name": "f"}]}, "functions/function_call are deprecated"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "function role"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "unknown role"),
        ({"messages": []}, "messages"),
        ({"model": None}, "model"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
    ],
)
def test_unsupported_requests_rejected(fields: dict[str, Any], expected: str) -> None:
    assert expected in rejected(**fields)


# --- non-stream responses --------------------------------------------------------------------


def anthropic_message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 100,
            "output_tokens": 7,
        },
    }


def test_text_response() -> None:
    content = [
        {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
        {"type": "text", "text": "Hello"},
        {"type": "text", "text": " world"},
    ]
    out = chat_completion(anthropic_message(content, "end_turn"), completion_id="c1", created=9)
    assert out == {
        "id": "c1",
        "object": "chat.completion",
        "created": 9,
        "model": "claude-sonnet-4-5-20250929",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello world",
                    "refusal": None,
                    "reasoning_content": "Hmm.",
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 115,
            "completion_tokens": 7,
            "total_tokens": 122,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }
    parsed = ChatCompletion.model_validate(out)
    assert parsed.choices[0].message.content == "Hello world"
    assert parsed.usage is not None and parsed.usage.prompt_tokens_details is not None
    assert parsed.usage.prompt_tokens_details.cached_tokens == 100


def test_tool_use_response() -> None:
    content = [
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}},
    ]
    out = chat_completion(anthropic_message(content, "tool_use"), completion_id="c", created=1)
    parsed = ChatCompletion.model_validate(out)
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert out["choices"][0]["message"]["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
        },
        {"id": "toolu_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
    ]
    assert "reasoning_content" not in out["choices"][0]["message"]


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("something_new", "stop"),
    ],
)
def test_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    message = anthropic_message([{"type": "text", "text": "x"}], stop_reason)
    out = chat_completion(message, completion_id="c", created=1)
    assert ChatCompletion.model_validate(out).choices[0].finish_reason == finish_reason


def test_openai_usage_handles_missing_and_null_counts() -> None:
    usage = {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": None}
    assert openai_usage(usage) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


# --- streams ---------------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> tuple[bytes, bytes]:
    return kind.encode(), json.dumps({"type": kind, **fields}).encode()


def block_delta(index: int, **delta: Any) -> tuple[bytes, bytes]:
    return event("content_block_delta", index=index, delta=delta)


START_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 2000,
    "output_tokens": 1,
}
STREAM = [
    event(
        "message_start",
        message={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "stop_reason": None,
            "usage": START_USAGE,
        },
    ),
    event("ping"),
    event("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
    block_delta(0, type="thinking_delta", thinking="Need the weather."),
    block_delta(0, type="signature_delta", signature="EqQB"),
    event("content_block_stop", index=0),
    event("content_block_start", index=1, content_block={"type": "text", "text": ""}),
    block_delta(1, type="text_delta", text="Checking"),
    block_delta(1, type="text_delta", text=" now."),
    event("content_block_stop", index=1),
    event(
        "content_block_start",
        index=2,
        content_block={"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {}},
    ),
    block_delta(2, type="input_json_delta", partial_json=""),
    block_delta(2, type="input_json_delta", partial_json='{"city": '),
    block_delta(2, type="input_json_delta", partial_json='"Paris"}'),
    event("content_block_stop", index=2),
    event(
        "content_block_start",
        index=3,
        content_block={"type": "tool_use", "id": "toolu_b", "name": "now", "input": {}},
    ),
    block_delta(3, type="input_json_delta", partial_json=""),
    event("content_block_stop", index=3),
    event(
        "message_delta",
        delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 45},
    ),
    event("message_stop"),
]


def run(events: list[tuple[bytes, bytes]], *, include_usage: bool) -> tuple[bytes, list[Any]]:
    translator = ChunkTranslator(completion_id="chatcmpl-1", created=5, include_usage=include_usage)
    raw = b"".join(translator.feed(name, data) for name, data in events)
    lines = raw.split(b"\n\n")
    assert lines.pop() == b""  # every line is complete
    assert all(line.startswith(b"data: ") for line in lines)
    payloads = [line.removeprefix(b"data: ") for line in lines]
    return raw, [p.decode() if p == b"[DONE]" else json.loads(p) for p in payloads]


def test_stream_text_thinking_tools_and_usage() -> None:
    _, chunks = run(STREAM, include_usage=True)
    assert chunks[-1] == "[DONE]"
    chunks = chunks[:-1]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
        assert (chunk["id"], chunk["created"]) == ("chatcmpl-1", 5)
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "claude-sonnet-4-5-20250929"
        assert "usage" in chunk
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "Need the weather."},
        {"content": "Checking"},
        {"content": " now."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "now", "arguments": ""},
                }
            ]
        },
        # A tool without arguments gets "{}": "" would not parse as JSON in the client.
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 2012,
        "completion_tokens": 45,
        "total_tokens": 2057,
        "prompt_tokens_details": {"cached_tokens": 2000},
    }

    # The openai SDK's own accumulator assembles the reply a client would see.
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking now."
    assert message.tool_calls is not None
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls]
    assert calls == [("toolu_a", "weather", {"city": "Paris"}), ("toolu_b", "now", {})]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 2057


def test_stream_without_include_usage_has_no_usage_key() -> None:
    _, chunks = run(STREAM, include_usage=False)
    assert chunks[-1] == "[DONE]"
    assert chunks[:-1] and all("usage" not in c and c["choices"] for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_end_turn_text_only() -> None:
    events = [
        STREAM[0],
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        block_delta(0, type="text_delta", text="Hi!"),
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 3}),
        event("message_stop"),
        event("ping"),  # after the end: ignored
    ]
    raw, chunks = run(events, include_usage=False)
    assert raw.endswith(b"data: [DONE]\n\n") and raw.count(b"[DONE]") == 1
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "Hi!"},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_stream_skips_malformed_events() -> None:
    translator = ChunkTranslator(completion_id="c", created=1, include_usage=True)
    assert translator.feed(b"content_block_delta", b"{not json") == b""
    assert translator.feed(b"content_block_delta", b"\xff\xfe\x00") == b""
    assert translator.feed(b"content_block_delta", b"[1, 2]") == b""
    assert translator.feed(b"content_block_delta", b'{"index": 0, "delta": 5}') == b""
    assert translator.feed(b"message_start", b'{"message": "x"}') == b""
    assert translator.feed(b"ping", b"{}") == b""
    # A name-less event falls back to its data's type.
    assert b"Hi" in translator.feed(b"", block_delta(0, type="text_delta", text="Hi")[1])


def test_stream_error_event() -> None:
    error = {"type": "overloaded_error", "message": "Overloaded"}
    _, chunks = run([STREAM[0], event("error", error=error)], include_usage=True)
    assert chunks[-1] == "[DONE]"
    assert chunks[-2] == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "param": None,
            "code": "overloaded",
        }
    }
    translator = ChunkTranslator(completion_id="c", created=1, include_usage=False)
    line = translator.error(500, "upstream broke")
    assert line.startswith(b"data: ") and line.endswith(b"\n\n")
    assert json.loads(line[6:])["error"]["message"] == "upstream broke"
    assert translator.feed(*STREAM[0]) == b""  # nothing after an error


# --- errors ----------------------------------------------------------------------------------


def test_openai_error_mapping() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    status, out = openai_error(529, body)
    assert status == 503
    assert json.loads(out) == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "param": None,
            "code": "overloaded",
        }
    }
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"bad model"}}'
    status, out = openai_error(400, body)
    assert status == 400
    assert json.loads(out)["error"] == {
        "message": "bad model",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    status, out = openai_error(502, b"<html>Bad gateway</html>")
    assert status == 502
    error = json.loads(out)["error"]
    assert error["type"] == "server_error" and "HTTP 502" in error["message"]
    status, out = openai_error(429, b'{"error": "flat"}')
    assert status == 429 and json.loads(out)["error"]["code"] == "rate_limit_exceeded"
