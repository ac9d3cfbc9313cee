"""OpenAI's Chat Completions API, forwarded as it is (the `openai` SDK, Cursor, scripts)."""

from __future__ import annotations

import json
from typing import Any

from aiusage.proxy.relay import without_usage
from aiusage.proxy.surfaces import StreamFilter, Surface, asks_for_stream_usage
from aiusage.proxy.surfaces.claude_via_chat import CLAUDE_VIA_CHAT
from aiusage.proxy.usage_counts import Meter, OpenAIMeter
from aiusage.proxy.validation import RequestShape, chat_shape
from aiusage.services.pricing import Price, PriceBook


class OpenAIChat(Surface):
    provider = "openai"
    client_format = "openai"
    upstream_path = endpoint = "/v1/chat/completions"

    def shape(self, payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
        return chat_shape(payload)

    def meter(self, request_bytes: int) -> Meter:
        return OpenAIMeter(request_bytes)

    def rewrites(self, payload: dict[str, Any]) -> bool:
        # OpenAI streams carry usage only if asked: the proxy asks, and takes the usage
        # chunk out again for a client that did not.
        return payload.get("stream") is True and not asks_for_stream_usage(payload)

    def prepare(
        self,
        payload: dict[str, Any],
        body: bytes,
        shape: RequestShape,
        price: Price,
        default_tool_uses: int,
    ) -> tuple[bytes, RequestShape]:
        if not self.rewrites(payload):
            return body, shape
        options = payload.get("stream_options")
        asked = {
            **payload,
            "stream_options": {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            },
        }
        return json.dumps(asked, ensure_ascii=False, separators=(",", ":")).encode(), shape

    def serving(self, model: str, prices: PriceBook) -> Surface:
        # A Claude model asked for in OpenAI's format (Cursor, the openai SDK): translated.
        if prices.lists("anthropic", model) and not prices.lists("openai", model):
            return CLAUDE_VIA_CHAT
        return self

    def stream_filter(self, meter: Meter, payload: dict[str, Any]) -> StreamFilter | None:
        if not self.rewrites(payload):
            return None
        assert isinstance(meter, OpenAIMeter)
        return lambda blocks: without_usage(blocks, meter)


OPENAI_CHAT = OpenAIChat()
