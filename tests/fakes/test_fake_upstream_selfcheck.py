"""Self-check of the fake upstream against the official SDKs.

If the real SDKs parse what the fake sends, proxy tests built on the fake are
testing against a faithful wire format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import httpx
import httpx2
import openai
import pytest
from openai.types.responses import Response

from .upstream import FakeUpstream

# What a truncated chunked body raises: the SDKs use httpx2 (an httpx fork) and do
# not wrap errors raised while iterating a stream.
BROKEN_STREAM: tuple[type[Exception], ...] = (
    httpx.RemoteProtocolError,
    httpx2.RemoteProtocolError,
    anthropic.APIConnectionError,
    openai.APIConnectionError,
)
MSGS = [{"role": "user", "content": "hi"}]
A_MODEL = "claude-haiku-4-5"
O_MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeUpstream]:
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def up(server: FakeUpstream) -> FakeUpstream:
    server.reset()  # each test starts from default behaviour and empty logs
    return server


@pytest.fixture
def ac(up: FakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=up.url, max_retries=0) as client:
        yield client


@pytest.fixture
def oc(up: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="sk-test", base_url=up.url + "/v1", max_retries=0) as client:
        yield client


def test_anthropic_non_stream(up: FakeUpstream, ac: anthropic.Anthropic) -> None:
    up.behavior.cache_creation_5m, up.behavior.cache_creation_1h, up.behavior.cache_read = 3, 4, 5
    msg = ac.messages.create(model=A_MODEL, max_tokens=50, messages=MSGS)  # type: ignore[arg-type]
    assert msg.content[0].type == "text" and msg.content[0].text == up.behavior.reply_text
    assert msg.model == A_MODEL and msg.stop_reason == "end_turn" and msg.id.startswith("msg_")
    u = msg.usage
    assert (
        u.input_tokens,
        u.output_tokens,
        u.cache_creation_input_tokens,
        u.cache_read_input_tokens,
    ) == (25, 12, 7, 5)
    assert u.cache_creation is not None
    assert (
        u.cache_creation.ephemeral_5m_input_tokens,
        u.cache_creation.ephemeral_1h_input_tokens,
    ) == (3, 4)
    [req] = up.requests
    assert (req.method, req.path) == ("POST", "/v1/messages")
    # anthropic>=2 authenticates with a Bearer token (plus anthropic-version), not x-api-key.
    assert req.headers["authorization"] == "Bearer sk-ant-test" and req.headers["anthropic-version"]
    assert req.json()["model"] == A_MODEL


def test_anthropic_stream(up: FakeUpstream, ac: anthropic.Anthropic) -> None:
    up.behavior.usage_updates = 3
    up.behavior.cache_read = 9
    up.behavior.model_override = "claude-echo"
    with ac.messages.stream(model=A_MODEL, max_tokens=50, messages=MSGS) as stream:  # type: ignore[arg-type]
        texts = list(stream.text_stream)
        msg = stream.get_final_message()
    assert len(texts) == 4 and "".join(texts) == up.behavior.reply_text
    assert msg.model == "claude-echo" and msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.output_tokens, msg.usage.cache_read_input_tokens) == (
        25,
        12,
        9,
    )
    names = [name for _, name in up.sent_log]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        *["message_delta"] * 3,
        "message_stop",
    ]


def test_anthropic_stream_raw_usage_is_cumulative(
    up: FakeUpstream, ac: anthropic.Anthropic
) -> None:
    up.behavior.usage_updates = 3
    events = list(ac.messages.create(model=A_MODEL, max_tokens=50, messages=MSGS, stream=True))  # type: ignore[arg-type]
    outs = [e.usage.output_tokens for e in events if e.type == "message_delta"]
    assert outs == [4, 8, 12]
    stops = [e.delta.stop_reason for e in events if e.type == "message_delta"]
    assert stops == [None, None, "end_turn"]


def test_count_tokens_and_models(
    up: FakeUpstream, ac: anthropic.Anthropic, oc: openai.OpenAI
) -> None:
    up.behavior.input_tokens = 77
    assert ac.messages.count_tokens(model=A_MODEL, messages=MSGS).input_tokens == 77  # type: ignore[arg-type]
    assert [m.type for m in ac.models.list()] == ["model", "model"]
    assert all(m.object == "model" for m in oc.models.list())


def test_openai_non_stream(up: FakeUpstream, oc: openai.OpenAI) -> None:
    up.behavior.cache_read = 10
    resp = oc.chat.completions.create(model=O_MODEL, messages=MSGS)  # type: ignore[arg-type]
    assert resp.choices[0].message.content == up.behavior.reply_text and resp.model == O_MODEL
    assert resp.usage is not None and resp.usage.prompt_tokens_details is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (
        35,
        12,
        47,
    )
    assert resp.usage.prompt_tokens_details.cached_tokens == 10
    assert up.requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("on_choices", [False, True])
def test_openai_stream_usage(up: FakeUpstream, oc: openai.OpenAI, on_choices: bool) -> None:
    up.behavior.openai_usage_chunk_has_choices = on_choices
    chunks = list(
        oc.chat.completions.create(
            model=O_MODEL,
            messages=MSGS,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == up.behavior.reply_text
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0].usage is not None
    assert (usage_chunks[0].usage.prompt_tokens, usage_chunks[0].usage.completion_tokens) == (
        25,
        12,
    )
    assert bool(usage_chunks[0].choices) == on_choices
    assert up.sent_log[-1][1] == "[DONE]"


def test_openai_stream_without_include_usage(up: FakeUpstream, oc: openai.OpenAI) -> None:
    chunks = list(oc.chat.completions.create(model=O_MODEL, messages=MSGS, stream=True))  # type: ignore[arg-type]
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_arrives_incrementally(up: FakeUpstream, ac: anthropic.Anthropic) -> None:
    up.behavior.chunk_delay = 0.05
    arrivals: list[float] = []
    with ac.messages.stream(model=A_MODEL, max_tokens=50, messages=MSGS) as stream:  # type: ignore[arg-type]
        for _ in stream.text_stream:
            arrivals.append(time.monotonic())
    sent = [t for t, name in up.sent_log if name == "content_block_delta"]
    assert len(sent) == len(arrivals) == 4
    # First token reached the client while the server was still producing.
    assert arrivals[0] < sent[-1] - 0.05
    assert all(a >= s for a, s in zip(arrivals, sent, strict=True))


def test_errors(up: FakeUpstream, ac: anthropic.Anthropic, oc: openai.OpenAI) -> None:
    up.behavior.status = 529
    with pytest.raises(anthropic.APIStatusError) as ai:
        ac.messages.create(model=A_MODEL, max_tokens=50, messages=MSGS)  # type: ignore[arg-type]
    assert (
        ai.value.status_code == 529
        and ai.value.request_id
        and ai.value.request_id.startswith("req_")
    )
    assert isinstance(ai.value.body, dict) and ai.value.body["error"]["type"] == "overloaded_error"
    up.behavior.status = 429
    with pytest.raises(openai.RateLimitError) as oi:
        oc.chat.completions.create(model=O_MODEL, messages=MSGS, stream=True)  # type: ignore[arg-type]
    assert oi.value.code == "rate_limit_exceeded" and oi.value.request_id
    assert len(up.requests) == 2  # errors are recorded too


def test_gzip_via_sdk(up: FakeUpstream, ac: anthropic.Anthropic) -> None:
    up.behavior.compress = "gzip"
    raw = ac.messages.with_raw_response.create(model=A_MODEL, max_tokens=50, messages=MSGS)  # type: ignore[arg-type]
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.parse().content[0].text == up.behavior.reply_text  # type: ignore[union-attr]
    with ac.messages.stream(model=A_MODEL, max_tokens=50, messages=MSGS) as stream:  # type: ignore[arg-type]
        assert stream.response.headers["content-encoding"] == "gzip"
        assert stream.get_final_text() == up.behavior.reply_text


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_compressed_stream_decodes_per_event(up: FakeUpstream, coding: str) -> None:
    # Plain httpx (the SDKs' httpx2 may not offer zstd). Each event is flushed by the
    # compressor, so the decoded stream yields whole events as they arrive.
    up.behavior.compress = coding
    body = {"model": A_MODEL, "max_tokens": 5, "messages": MSGS, "stream": True}
    with httpx.stream("POST", f"{up.url}/v1/messages", json=body) as r:
        assert r.headers["content-encoding"] == coding
        text = "".join(r.iter_text())
    assert text.count("event: content_block_delta") == 4 and text.endswith(
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    # A client that does not accept the coding gets identity.
    r = httpx.post(
        f"{up.url}/v1/messages",
        json=body | {"stream": False},
        headers={"accept-encoding": "identity"},
    )
    assert "content-encoding" not in r.headers and r.json()["type"] == "message"


def test_drop_after_deltas(up: FakeUpstream, ac: anthropic.Anthropic, oc: openai.OpenAI) -> None:
    up.behavior.drop_after_deltas = 2
    texts: list[str] = []
    with (
        pytest.raises(BROKEN_STREAM),
        ac.messages.stream(model=A_MODEL, max_tokens=50, messages=MSGS) as stream,  # type: ignore[arg-type]
    ):
        texts.extend(stream.text_stream)
    assert len(texts) == 2
    with pytest.raises(BROKEN_STREAM):
        list(oc.chat.completions.create(model=O_MODEL, messages=MSGS, stream=True))  # type: ignore[arg-type]
    names = [name for _, name in up.sent_log]
    assert names.count("!dropped") == 2 and "message_stop" not in names and "[DONE]" not in names


# --- the OpenAI Responses API ----------------------------------------------------------------

R_INPUT = "hi"


def test_openai_chat_reasoning_tokens_are_part_of_completion_tokens(
    up: FakeUpstream, oc: openai.OpenAI
) -> None:
    up.behavior.reasoning_tokens = 30
    resp = oc.chat.completions.create(model=O_MODEL, messages=MSGS)  # type: ignore[arg-type]
    assert resp.usage is not None and resp.usage.completion_tokens_details is not None
    assert (resp.usage.completion_tokens, resp.usage.total_tokens) == (42, 67)
    assert resp.usage.completion_tokens_details.reasoning_tokens == 30


def test_responses_non_stream(up: FakeUpstream, oc: openai.OpenAI) -> None:
    up.behavior.cache_read, up.behavior.reasoning_tokens = 10, 7
    raw = oc.responses.with_raw_response.create(
        model=O_MODEL,
        input=R_INPUT,
        instructions="Be brief.",
        tools=[{"type": "function", "name": "f", "parameters": {}, "strict": False}],
        extra_headers={"OpenAI-Beta": "responses=v1"},
    )
    assert raw.headers["x-request-id"].startswith("req_")
    # Strict validation: every field the SDK's model requires is there, with the right type.
    strict = Response.model_validate(json.loads(raw.text))
    resp = raw.parse()
    assert strict == resp
    assert resp.id.startswith("resp_") and resp.object == "response"
    assert resp.status == "completed" and resp.model == O_MODEL and resp.error is None
    assert resp.output_text == up.behavior.reply_text and resp.instructions == "Be brief."
    assert [item.type for item in resp.output] == ["message"]
    assert resp.tools[0].type == "function" and resp.parallel_tool_calls is True
    u = resp.usage
    assert u is not None
    # cached tokens are part of input_tokens, reasoning tokens part of output_tokens
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (35, 19, 54)
    assert u.input_tokens_details.cached_tokens == 10
    assert u.output_tokens_details.reasoning_tokens == 7
    [req] = up.requests
    assert (req.method, req.path, req.query) == ("POST", "/v1/responses", "")
    assert req.headers["openai-beta"] == "responses=v1"
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.json()["input"] == R_INPUT


def test_responses_body_arrives_byte_for_byte(up: FakeUpstream) -> None:
    body = b'{ "model" : "gpt-5",\n  "input": "caf\\u00e9", "stream": false }'
    r = httpx.post(
        f"{up.url}/v1/responses?trace=1&x=%20",
        content=body,
        headers={"authorization": "Bearer sk-test", "content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["output"][0]["content"][0]["type"] == "output_text"
    [req] = up.requests
    assert req.body == body and req.query == "trace=1&x=%20"


def test_responses_stream_events(up: FakeUpstream, oc: openai.OpenAI) -> None:
    up.behavior.cache_read, up.behavior.reasoning_tokens = 4, 3
    up.behavior.model_override = "gpt-echo"
    with oc.responses.stream(model=O_MODEL, input=R_INPUT) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == up.behavior.reply_text
    created = events[0]
    assert created.type == "response.created"
    assert created.response.status == "in_progress" and created.response.usage is None
    assert final.status == "completed" and final.model == "gpt-echo"
    assert final.output_text == up.behavior.reply_text and final.id == created.response.id
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (29, 15)
    assert final.usage.input_tokens_details.cached_tokens == 4
    assert final.usage.output_tokens_details.reasoning_tokens == 3
    assert [name for _, name in up.sent_log] == kinds


def test_responses_raw_sse_format(up: FakeUpstream) -> None:
    """Each event is `event: <type>` + one `data:` line whose JSON has that type; no [DONE]."""
    body = {"model": O_MODEL, "input": R_INPUT, "stream": True}
    with httpx.stream("POST", f"{up.url}/v1/responses", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    blocks = text.split("\n\n")
    assert blocks[-1] == "" and "[DONE]" not in text
    for block in blocks[:-1]:
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        assert json.loads(data_line[6:])["type"] == event_line[7:]
    assert blocks[-2].startswith("event: response.completed\n")


def test_responses_stream_reasoning_and_web_search_items(
    up: FakeUpstream, oc: openai.OpenAI
) -> None:
    up.behavior.web_search_calls = 2
    events = list(
        oc.responses.create(
            model=O_MODEL,
            input=R_INPUT,
            reasoning={"effort": "low"},
            include=["reasoning.encrypted_content"],
            stream=True,
        )
    )
    done = [e for e in events if e.type == "response.output_item.done"]
    assert [(e.output_index, e.item.type) for e in done] == [
        (0, "reasoning"),
        (1, "web_search_call"),
        (2, "web_search_call"),
        (3, "message"),
    ]
    reasoning = done[0].item
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    search = done[1].item
    assert search.type == "web_search_call" and search.status == "completed"
    assert search.action.type == "search" and search.action.query
    kinds = [e.type for e in events]
    assert kinds.count("response.web_search_call.completed") == 2
    final = events[-1]
    assert final.type == "response.completed"
    assert [item.type for item in final.response.output] == [
        "reasoning",
        "web_search_call",
        "web_search_call",
        "message",
    ]
    assert final.response.reasoning is not None and final.response.reasoning.effort == "low"
    # Without include, the reasoning item carries no encrypted content.
    plain = oc.responses.create(model=O_MODEL, input=R_INPUT, reasoning={"effort": "low"})
    assert plain.output[0].type == "reasoning" and plain.output[0].encrypted_content is None


@pytest.mark.parametrize("final", ["incomplete", "failed"])
def test_responses_incomplete_and_failed(up: FakeUpstream, oc: openai.OpenAI, final: str) -> None:
    up.behavior.responses_final = final
    up.behavior.error_message = "the model broke"
    events = list(oc.responses.create(model=O_MODEL, input=R_INPUT, stream=True))
    last = events[-1]
    assert last.type == f"response.{final}"
    assert [e.type for e in events].count(f"response.{final}") == 1
    assert "response.completed" not in [e.type for e in events]
    response = last.response
    assert response.status == final and response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (25, 12)
    if final == "incomplete":
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
        assert response.error is None
    else:
        assert response.error is not None and response.error.code == "server_error"
        assert response.error.message == "the model broke"
    assert response.output[-1].type == "message" and response.output[-1].status == "incomplete"
    plain = oc.responses.create(model=O_MODEL, input=R_INPUT)
    assert plain.status == final and plain.usage is not None


def test_responses_stream_without_final_usage(up: FakeUpstream, oc: openai.OpenAI) -> None:
    up.behavior.omit_final_usage = True
    events = list(oc.responses.create(model=O_MODEL, input=R_INPUT, stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.usage is None


def test_responses_drop_and_error(up: FakeUpstream, oc: openai.OpenAI) -> None:
    up.behavior.drop_after_deltas = 1
    seen: list[str] = []
    with pytest.raises(BROKEN_STREAM):
        for event in oc.responses.create(model=O_MODEL, input=R_INPUT, stream=True):
            seen.append(event.type)
    assert seen.count("response.output_text.delta") == 1
    names = [name for _, name in up.sent_log]
    assert names[-1] == "!dropped" and "response.completed" not in names
    up.behavior.drop_after_deltas = None
    up.behavior.status = 429
    with pytest.raises(openai.RateLimitError) as oi:
        oc.responses.create(model=O_MODEL, input=R_INPUT, stream=True)
    assert oi.value.code == "rate_limit_exceeded" and oi.value.request_id


def test_responses_sub_resources(up: FakeUpstream, oc: openai.OpenAI) -> None:
    created = oc.responses.create(
        model=O_MODEL,
        input=[
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
    )
    got = oc.responses.retrieve(created.id)
    assert got.id == created.id and got.status == "completed" and got.usage is not None
    assert got.output_text == created.output_text

    items = oc.responses.input_items.list(created.id, order="asc")
    assert [i.content[0].text for i in items.data] == ["first", "second"]  # type: ignore[union-attr]
    assert items.first_id == items.data[0].id and items.last_id == items.data[-1].id
    assert items.has_more is False
    page = oc.responses.input_items.list(created.id, limit=1)  # default order: newest first
    assert [i.content[0].text for i in page.data] == ["second"]  # type: ignore[union-attr]
    assert page.has_more is True
    assert up.requests[-1].query == "limit=1"

    count = oc.responses.input_tokens.count(model=O_MODEL, input="x")
    assert (count.object, count.input_tokens) == ("response.input_tokens", 25)

    cancelled = oc.responses.cancel(created.id)
    assert cancelled.id == created.id and cancelled.status == "cancelled"
    assert oc.responses.retrieve(created.id).status == "cancelled"
    r = httpx.delete(f"{up.url}/v1/responses/{created.id}")
    assert r.json() == {"id": created.id, "object": "response", "deleted": True}
    oc.responses.delete(created.id)  # the SDK's delete parses nothing

    # An id the fake never made: a completed response is made up, with usage.
    up.behavior.cache_read = 5
    other = oc.responses.retrieve("resp_elsewhere")
    assert other.id == "resp_elsewhere" and other.status == "completed"
    assert other.usage is not None and other.usage.input_tokens == 30
    assert [(q.method, q.path) for q in up.requests] == [
        ("POST", "/v1/responses"),
        ("GET", f"/v1/responses/{created.id}"),
        ("GET", f"/v1/responses/{created.id}/input_items"),
        ("GET", f"/v1/responses/{created.id}/input_items"),
        ("POST", "/v1/responses/input_tokens"),
        ("POST", f"/v1/responses/{created.id}/cancel"),
        ("GET", f"/v1/responses/{created.id}"),
        ("DELETE", f"/v1/responses/{created.id}"),
        ("DELETE", f"/v1/responses/{created.id}"),
        ("GET", "/v1/responses/resp_elsewhere"),
    ]
    assert up.requests[2].query == "order=asc"
    # Unknown sub-resources and methods are 404s in OpenAI's format.
    r = httpx.post(f"{up.url}/v1/responses/{created.id}/nope", json={})
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    assert httpx.put(f"{up.url}/v1/responses/{created.id}").status_code == 404


def test_responses_not_stored_when_store_is_false(up: FakeUpstream, oc: openai.OpenAI) -> None:
    created = oc.responses.create(model=O_MODEL, input=R_INPUT, store=False)
    assert created.id not in up.stored_responses
    stored = oc.responses.create(model=O_MODEL, input=R_INPUT)
    assert stored.id in up.stored_responses
    up.reset()
    assert not up.stored_responses
