"""The exact parts in isolation: money, prices, usage parsing, SSE splitting, sealing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from aiusage.money import format_usd, parse_dollars, usd_to_nano
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.sse import SSESplitter
from aiusage.proxy.usage_counts import AnthropicMeter, OpenAIMeter, ResponsesMeter
from aiusage.proxy.validation import responses_shape
from aiusage.services import crypto
from aiusage.services.errors import ServiceError
from aiusage.services.pricing import Price, TokenCounts, cost_nano, usd_per_mtok_to_micro
from aiusage.services.ratelimit import SlidingWindow


def test_dollars_convert_exactly():
    assert usd_to_nano("0.000000001") == 1
    assert usd_to_nano("12.34") == 12_340_000_000
    assert usd_to_nano("-0.5") == -500_000_000
    for bad in ("ten", "0.0000000001", "NaN", "Infinity"):
        with pytest.raises(ServiceError):
            usd_to_nano(bad)
    assert format_usd(12_345_000_000) == "$12.35"
    assert format_usd(-1_000_000_000) == "-$1.00"


def test_one_parser_for_the_dollars_people_type():
    assert parse_dollars("$1,000.50", code="x") == 1_000_500_000_000
    assert parse_dollars(" 2.5 ", code="x", cents=True) == 2_500_000_000
    assert parse_dollars("0.000000001", code="x") == 1
    assert parse_dollars("", code="x", blank=True) is None
    for bad, options in (
        ("", {}),
        ("-1", {}),
        ("ten", {}),
        ("NaN", {}),
        ("Infinity", {}),
        ("1e400", {}),
        ("0.001", {"cents": True}),
        ("1000.01", {"maximum": Decimal(1000)}),
    ):
        with pytest.raises(ServiceError) as refused:
            parse_dollars(bad, code="bad_amount_here", **options)
        assert refused.value.code == "bad_amount_here"


def test_cost_is_exact_and_rounds_up_only_at_the_end():
    haiku = Price(*(usd_per_mtok_to_micro(p) for p in ("0.80", "4", "1", "1.60", "0.08")))
    # 1 cache-read token is 0.08 micro-USD = 80 nano-USD: exact.
    assert cost_nano(haiku, TokenCounts(cache_read=1)) == 80
    # 3 input tokens at $0.80/MTok = 2.4 micro-USD = 2400 nano-USD.
    assert cost_nano(haiku, TokenCounts(input=3)) == 2400
    mini = Price(*(usd_per_mtok_to_micro(p) for p in ("0.15", "0.60", "0.15", "0.15", "0.075")))
    # 1 token at $0.075/MTok is 75 nano; 1 at $0.15 is 150: summed before any rounding.
    assert cost_nano(mini, TokenCounts(input=1, cache_read=1)) == 225
    tiny = Price(1, 1, 1, 1, 1)  # 1 micro-USD per MTok: 0.001 nano per token
    assert cost_nano(tiny, TokenCounts(input=1)) == 1  # rounded up, never down to free
    assert cost_nano(tiny, TokenCounts(input=1000)) == 1


def _events(*pairs: tuple[str, dict]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}".encode() for name, data in pairs]


def test_anthropic_stream_usage_keeps_the_latest_cumulative_counts():
    meter = AnthropicMeter(request_bytes=100)
    start = {
        "type": "message_start",
        "message": {
            "model": "claude-x",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 1,
                "cache_read_input_tokens": 500,
                "cache_creation_input_tokens": 70,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 30,
                    "ephemeral_1h_input_tokens": 40,
                },
            },
        },
    }
    deltas = [{"type": "message_delta", "usage": {"output_tokens": n}} for n in (5, 9, 14)]
    for block in _events(("message_start", start), *[("message_delta", d) for d in deltas]):
        meter.feed_event(block)
    counts = meter.result(answered=True)
    assert (counts.input, counts.output, counts.cache_read) == (10, 14, 500)
    assert (counts.cache_write_5m, counts.cache_write_1h) == (30, 40)
    assert not counts.estimated and meter.model == "claude-x"


def test_anthropic_stream_cut_short_is_estimated_and_marked():
    meter = AnthropicMeter(request_bytes=100)
    start = {
        "type": "message_start",
        "message": {"usage": {"input_tokens": 50, "output_tokens": 1}},
    }
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "x" * 400},
    }
    for block in _events(("message_start", start), ("content_block_delta", delta)):
        meter.feed_event(block)
    counts = meter.result(answered=True)
    assert counts.input == 50 and counts.estimated and 90 <= counts.output <= 110


def test_openai_prompt_tokens_include_the_cached_ones():
    meter = OpenAIMeter(request_bytes=10)
    meter.feed_body(
        json.dumps(
            {
                "model": "gpt-4o",
                "usage": {
                    "prompt_tokens": 2000,
                    "completion_tokens": 30,
                    "prompt_tokens_details": {"cached_tokens": 1536},
                },
            }
        ).encode()
    )
    counts = meter.result(answered=True)
    assert (counts.input, counts.cache_read, counts.output) == (464, 1536, 30)


def _final_response(kind: str, output: list[dict] | None = None) -> dict:
    return {
        "type": f"response.{kind}",
        "response": {
            "model": "gpt-5-2026",
            "status": kind,
            "output": output or [],
            "usage": {
                "input_tokens": 1000,
                "input_tokens_details": {"cached_tokens": 600},
                "output_tokens": 300,
                "output_tokens_details": {"reasoning_tokens": 250},
                "total_tokens": 1300,
            },
        },
    }


@pytest.mark.parametrize("kind", ["completed", "incomplete", "failed"])
def test_responses_usage_prices_each_token_once(kind):
    """input_tokens includes the cached ones and output_tokens the reasoning ones: the row
    gets uncached input, cached input and all output, none of them twice."""
    meter = ResponsesMeter(request_bytes=4000)
    for block in _events(
        ("response.created", {"type": "response.created", "response": {"usage": None}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Hi"}),
        (f"response.{kind}", _final_response(kind)),
    ):
        meter.feed_event(block)
    counts = meter.result(answered=True)
    assert (counts.input, counts.cache_read, counts.output) == (400, 600, 300)
    assert not counts.estimated and meter.model == "gpt-5-2026"
    rates = Price(*(usd_per_mtok_to_micro(p) for p in ("1.25", "10", "1.25", "1.25", "0.125")))
    # 400 × 1.25 + 600 × 0.125 + 300 × 10 micro-USD per million tokens, in nano-USD:
    assert cost_nano(rates, counts) == 500_000 + 75_000 + 3_000_000


def test_a_responses_stream_cut_before_its_final_event_is_estimated():
    meter = ResponsesMeter(request_bytes=4000)
    delta = {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "x" * 400}
    for block in _events(*[("response.output_text.delta", delta)] * 3):
        meter.feed_event(block)
    counts = meter.result(answered=True)
    assert counts.estimated and counts.input == 1000 and counts.output > 0


def test_responses_hosted_tools_are_counted_from_the_output():
    output = [
        {"type": "web_search_call", "id": "ws_1"},
        {"type": "web_search_call", "id": "ws_2"},
        {"type": "file_search_call", "id": "fs_1"},
        {"type": "code_interpreter_call", "id": "ci_1", "container_id": "cntr_a"},
        {"type": "code_interpreter_call", "id": "ci_2", "container_id": "cntr_a"},
        {"type": "code_interpreter_call", "id": "ci_3", "container_id": "cntr_b"},
        {"type": "message", "id": "msg_1"},
    ]
    meter = ResponsesMeter(request_bytes=10)
    meter.feed_body(json.dumps(_final_response("completed", output)["response"]).encode())
    counts = meter.result(answered=True)
    assert (counts.web_search_calls, counts.file_search_calls) == (2, 1)
    assert counts.code_interpreter_containers == 2  # billed per container, not per call
    fees = Price(0, 0, 0, 0, 0, web_search_call=10_000, file_search_call=2_500,
                 code_interpreter_container=30_000)  # fmt: skip
    assert cost_nano(fees, counts) == (2 * 10_000 + 2_500 + 2 * 30_000) * 1000


def test_responses_requests_bound_their_hold():
    shape = responses_shape({"model": "gpt-5", "max_output_tokens": 500}, 20)
    assert (shape.max_output, shape.server_tool_uses) == (500, 0)
    tools = [{"type": "function", "name": "f"}, {"type": "web_search"}]
    assert responses_shape({"model": "gpt-5", "tools": tools}, 20).server_tool_uses == 20
    bounded = {"model": "gpt-5", "tools": tools, "max_tool_calls": 3}
    assert responses_shape(bounded, 20).server_tool_uses == 3
    for bad in ({"background": True}, {"max_output_tokens": 10**24}, {"max_tool_calls": -1}):
        with pytest.raises(ProxyError) as refused:
            responses_shape({"model": "gpt-5", **bad}, 20)
        assert refused.value.status == 400


def test_sse_splitter_handles_any_chunking_and_crlf():
    stream = b'event: a\r\ndata: {"x":1}\r\n\r\nevent: b\ndata: 2\n\n'
    for size in (1, 3, 7, len(stream)):
        splitter = SSESplitter()
        blocks = []
        for i in range(0, len(stream), size):
            blocks += splitter.feed(stream[i : i + size])
        assert blocks == [b'event: a\ndata: {"x":1}', b"event: b\ndata: 2"]


def test_provider_keys_are_sealed_to_their_owner_and_provider():
    secret = "sk-ant-api03-" + "s" * 40
    sealed = crypto.seal(secret, 7, "anthropic")
    assert len(sealed.nonce) == 12 and secret.encode() not in sealed.ciphertext
    assert crypto.seal(secret, 7, "anthropic").nonce != sealed.nonce
    assert crypto.open_sealed(sealed, 7, "anthropic") == secret
    for user_id, provider in ((8, "anthropic"), (7, "openai")):
        with pytest.raises(crypto.SealError) as raised:
            crypto.open_sealed(sealed, user_id, provider)
        assert secret not in str(raised.value)
    tampered = crypto.Sealed(
        sealed.key_id, sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    )
    with pytest.raises(crypto.SealError):
        crypto.open_sealed(tampered, 7, "anthropic")


def test_sliding_window_counts_and_tells_when_to_retry():
    window = SlidingWindow(limit=2, window_seconds=60)
    assert window.try_hit("k") == 0 and window.try_hit("k") == 0
    wait = window.try_hit("k")
    assert 0 < wait <= 60
    assert window.try_hit("other") == 0


def test_a_long_prompt_switches_every_token_to_the_long_rates():
    long = Price(2_000_000, 10_000_000, 2_500_000, 4_000_000, 200_000)
    price = Price(
        1_000_000, 5_000_000, 1_250_000, 2_000_000, 100_000, long=long, long_threshold=100_000
    )
    short = TokenCounts(input=10, cache_read=100_000, output=10)  # prompt exactly 100,010
    at_edge = TokenCounts(input=0, cache_read=100_000, output=10)  # prompt 100,000: not over
    assert cost_nano(price, at_edge) == (100_000 * 100_000 + 10 * 5_000_000) // 1000
    assert cost_nano(price, short) == (10 * 2_000_000 + 100_000 * 200_000 + 10 * 10_000_000) // 1000
    from aiusage.services.pricing import worst_case_cost_nano

    # The hold covers the dearer band when the body could hold a long prompt.
    assert (
        worst_case_cost_nano(price, 200_000, 100)
        == (200_000 * 4_000_000 + 100 * 10_000_000) // 1000
    )


def test_production_refuses_development_secrets(tmp_path):
    import base64
    import json

    import pytest

    from aiusage.config import ConfigError, Settings, refuse_development_secrets

    real_key = "k1:" + base64.urlsafe_b64encode(b"r" * 32).decode()
    dev_key = "dev1:" + base64.urlsafe_b64encode(b"d" * 32).decode()
    base = {"env": "production", "data_dir": tmp_path}
    with pytest.raises(ConfigError, match="AIUSAGE_SECRET_KEY must be set"):
        refuse_development_secrets(Settings(**base, encryption_key=real_key), ["secret_key"])
    with pytest.raises(ConfigError, match="development secrets"):  # a generated key's id
        refuse_development_secrets(
            Settings(**base, encryption_key=dev_key, secret_key="s" * 40), []
        )
    (tmp_path / "dev-secrets.json").write_text(json.dumps({"secret_key": "copied-dev-secret"}))
    with pytest.raises(ConfigError, match="development secrets"):  # copied from the file
        refuse_development_secrets(
            Settings(**base, encryption_key=real_key, secret_key="copied-dev-secret"), []
        )
    refuse_development_secrets(Settings(**base, encryption_key=real_key, secret_key="s" * 40), [])
