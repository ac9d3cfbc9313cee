"""OpenAI's Responses API (Codex CLI, the `openai` SDK's `responses`), forwarded as it is:
the body byte for byte, the stream event for event; usage read from the final response."""

from __future__ import annotations

from typing import Any

from aiusage.config import get_settings
from aiusage.proxy.errors import stream_error_event
from aiusage.proxy.surfaces import Surface
from aiusage.proxy.usage_counts import Meter, ResponsesMeter
from aiusage.proxy.validation import RequestShape, responses_shape


class OpenAIResponses(Surface):
    provider = "openai"
    client_format = "openai"
    upstream_path = endpoint = "/v1/responses"

    def shape(self, payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
        return responses_shape(
            payload, default_tool_uses, get_settings().stored_context_max_input_tokens
        )

    def meter(self, request_bytes: int) -> Meter:
        return ResponsesMeter(request_bytes)

    def stream_error(self, message: str) -> bytes:
        return stream_error_event("openai-responses", message)


OPENAI_RESPONSES = OpenAIResponses()
