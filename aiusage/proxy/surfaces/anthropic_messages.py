"""Anthropic's Messages API, forwarded as it is (Claude Code, the `anthropic` SDK)."""

from __future__ import annotations

from typing import Any

from aiusage.proxy.surfaces import Surface
from aiusage.proxy.usage_counts import AnthropicMeter, Meter
from aiusage.proxy.validation import RequestShape, anthropic_shape


class AnthropicMessages(Surface):
    provider = "anthropic"
    client_format = "anthropic"
    upstream_path = endpoint = "/v1/messages"

    def shape(self, payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
        return anthropic_shape(payload, default_tool_uses)

    def meter(self, request_bytes: int) -> Meter:
        return AnthropicMeter(request_bytes)


ANTHROPIC_MESSAGES = AnthropicMessages()
