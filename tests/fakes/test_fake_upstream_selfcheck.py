"""Self-check of the fake upstream against the official SDKs.

If the real SDKs parse what the fake sends, proxy tests built on the fake are
testing against a faithful wire format.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import httpx2
import openai
import pytest

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
    with pytest.raises(BROKEN_STREAM):
        with ac.messages.stream(model=A_MODEL, max_tokens=50, messages=MSGS) as stream:  # type: ignore[arg-type]
            texts.extend(stream.text_stream)
    assert len(texts) == 2
    with pytest.raises(BROKEN_STREAM):
        list(oc.chat.completions.create(model=O_MODEL, messages=MSGS, stream=True))  # type: ignore[arg-type]
    names = [name for _, name in up.sent_log]
    assert names.count("!dropped") == 2 and "message_stop" not in names and "[DONE]" not in names
