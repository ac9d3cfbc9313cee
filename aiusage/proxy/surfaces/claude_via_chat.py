"""Claude models for Chat Completions clients (Cursor's OpenAI slot, scripts written for the
`openai` SDK): the request is translated to Anthropic Messages and the answer back, streamed
or not (`proxy/chat_to_claude.py`). Usage is metered from the Anthropic side, so cache writes
and reads are billed as they are for Claude Code; the client sees OpenAI's usage fields."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiusage.proxy.chat_to_claude import (
    ChunkTranslator,
    TranslationError,
    chat_completion,
    messages_request,
    openai_error,
)
from aiusage.proxy.errors import ProxyError
from aiusage.proxy.sse import event_fields
from aiusage.proxy.surfaces import BodyRewriter, StreamFilter, Surface, asks_for_stream_usage
from aiusage.proxy.usage_counts import AnthropicMeter, Meter
from aiusage.proxy.validation import RequestShape, anthropic_shape, chat_shape
from aiusage.services import pricing

ANTHROPIC_VERSION = b"2023-06-01"


def _completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


class ClaudeViaChat(Surface):
    provider = "anthropic"
    client_format = "openai"
    upstream_path = "/v1/messages"
    endpoint = "/v1/chat/completions"
    translates = True

    def shape(self, payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
        # The model and the checked numbers; the hold's output bound comes from the translated
        # request (`prepare`), which may add a thinking budget.
        return chat_shape(payload)

    def prepare(
        self,
        payload: dict[str, Any],
        body: bytes,
        shape: RequestShape,
        price: pricing.Price,
        default_tool_uses: int,
    ) -> tuple[bytes, RequestShape]:
        try:
            request = messages_request(payload, default_max_tokens=pricing.max_output_tokens(price))
        except TranslationError as error:
            raise ProxyError(400, str(error)) from None
        upstream = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()
        return upstream, anthropic_shape(request, default_tool_uses)

    def meter(self, request_bytes: int) -> Meter:
        return AnthropicMeter(request_bytes)

    def rewrites(self, payload: dict[str, Any]) -> bool:
        return True

    def stream_filter(self, meter: Meter, payload: dict[str, Any]) -> StreamFilter | None:
        translator = ChunkTranslator(
            completion_id=_completion_id(),
            created=int(time.time()),
            include_usage=asks_for_stream_usage(payload),
        )

        def translate(blocks: list[bytes]) -> bytes:
            out = []
            for block in blocks:
                meter.feed_event(block)
                out.append(translator.feed(*event_fields(block)))
            return b"".join(out)

        return translate

    def body_rewriter(self, payload: dict[str, Any]) -> BodyRewriter | None:
        def rewrite(status: int, body: bytes) -> tuple[int, bytes]:
            if not 200 <= status < 300:
                return openai_error(status, body)
            try:
                completion = chat_completion(
                    json.loads(body), completion_id=_completion_id(), created=int(time.time())
                )
            except (ValueError, TypeError, AttributeError, KeyError):  # not a Messages answer
                return openai_error(502, b"")
            return status, json.dumps(completion, ensure_ascii=False).encode()

        return rewrite

    def credential_headers(self, key: str) -> list[tuple[bytes, bytes]]:
        # OpenAI clients send no anthropic-version: the Messages API requires one.
        return [*super().credential_headers(key), (b"anthropic-version", ANTHROPIC_VERSION)]


CLAUDE_VIA_CHAT = ClaudeViaChat()
