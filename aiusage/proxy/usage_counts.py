"""Reading token usage from provider responses, streamed or not, without keeping content.

Anthropic: `message_start.message.usage` has input and cache counts; `message_delta.usage`
counts are cumulative (keep the latest, never add them up). `input_tokens` excludes cache.
OpenAI: `prompt_tokens` (Responses: `input_tokens`) includes its `cached_tokens`, and the
output count includes `reasoning_tokens`: each token is priced once."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aiusage.proxy.sse import event_fields
from aiusage.services.pricing import TokenCounts

# Estimates, used only when a stream ends before its final count (and marked so):
CHARS_PER_TOKEN = 4
DELTA_ENVELOPE = 70  # bytes of JSON around an Anthropic text delta, not counted as text


MAX_COUNT = 2**31 - 1  # a usage row's token columns are 32-bit: no upstream figure exceeds it


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, MAX_COUNT)


def anthropic_counts(usage: dict[str, Any], counts: TokenCounts) -> None:
    """Applies an Anthropic usage object (from a message or a message_delta) to counts."""
    if "input_tokens" in usage:
        counts.input = _int(usage["input_tokens"])
    if "output_tokens" in usage:
        counts.output = _int(usage["output_tokens"])
    if "cache_read_input_tokens" in usage:
        counts.cache_read = _int(usage["cache_read_input_tokens"])
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        counts.cache_write_5m = _int(split.get("ephemeral_5m_input_tokens"))
        counts.cache_write_1h = _int(split.get("ephemeral_1h_input_tokens"))
    elif "cache_creation_input_tokens" in usage:
        # A total without the split (message_delta sends only the total): keep the 1-hour part
        # already known and count the rest as 5-minute writes (the default lifetime).
        total = _int(usage["cache_creation_input_tokens"])
        counts.cache_write_1h = min(counts.cache_write_1h, total)
        counts.cache_write_5m = total - counts.cache_write_1h
    tools = usage.get("server_tool_use")
    if isinstance(tools, dict):  # billed per use, cumulative like the token counts
        counts.web_search_calls = _int(tools.get("web_search_requests"))
        counts.web_fetch_calls = _int(tools.get("web_fetch_requests"))


def openai_counts(
    usage: dict[str, Any],
    counts: TokenCounts,
    names: tuple[str, str, str] = ("prompt_tokens", "prompt_tokens_details", "completion_tokens"),
) -> None:
    """OpenAI usage: the prompt count *includes* its cached part (priced at the cached rate,
    so it is taken out of `input`), and the output count includes reasoning tokens (priced
    once, as output). `names`: the fields, Chat Completions' by default."""
    prompt_name, details_name, output_name = names
    prompt = _int(usage.get(prompt_name))
    details = usage.get(details_name) or {}
    cached = min(_int(details.get("cached_tokens")) if isinstance(details, dict) else 0, prompt)
    counts.input = prompt - cached
    counts.cache_read = cached
    counts.output = _int(usage.get(output_name))


RESPONSES_USAGE = ("input_tokens", "input_tokens_details", "output_tokens")


class Meter:
    """Collects usage from one response. Subclasses know one provider's format."""

    def __init__(self, request_bytes: int) -> None:
        self.counts = TokenCounts()
        self.model: str | None = None
        self.final = False  # the upstream reported final counts
        self.started = False  # the upstream reported input counts
        self.estimated_output = 0  # tokens, from the deltas seen
        self.request_bytes = request_bytes
        self.upstream_error = False  # the stream carried an error event
        self.output_cap: int | None = None  # the output the hold covers: estimates stop there

    def feed_body(self, body: bytes) -> None:
        raise NotImplementedError

    def feed_event(self, block: bytes) -> None:
        raise NotImplementedError

    def result(self, *, answered: bool) -> TokenCounts:
        """Final counts, or an estimate (marked so) if the response ended early. `answered`:
        the upstream accepted the request (2xx), so it bills the input even when the stream
        was cut before its first usage event."""
        counts = self.counts
        if self.final:
            return counts
        estimate = self.estimated_output
        if self.output_cap is not None:
            estimate = min(estimate, self.output_cap)
        if estimate > counts.output:
            counts.output = estimate
            counts.estimated = True
        if not self.started and (answered or self.estimated_output):
            counts.input = math.ceil(self.request_bytes / CHARS_PER_TOKEN)
            counts.estimated = True
        return counts


class AnthropicMeter(Meter):
    def feed_body(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            return
        if isinstance(message, dict) and isinstance(message.get("usage"), dict):
            anthropic_counts(message["usage"], self.counts)
            self.model = message.get("model") if isinstance(message.get("model"), str) else None
            self.final = self.started = True

    def feed_event(self, block: bytes) -> None:
        name, data = event_fields(block)
        if name == b"content_block_delta":
            self.estimated_output += max(
                math.ceil((len(data) - DELTA_ENVELOPE) / CHARS_PER_TOKEN), 1
            )
        elif name == b"error":
            self.upstream_error = True
        elif name in (b"message_start", b"message_delta"):
            try:
                event = json.loads(data)
            except ValueError:
                return
            if name == b"message_start":
                message = event.get("message") or {}
                usage = message.get("usage")
                if isinstance(message.get("model"), str):
                    self.model = message["model"]
                if isinstance(usage, dict):
                    anthropic_counts(usage, self.counts)
                    self.started = True
            else:
                usage = event.get("usage")
                if isinstance(usage, dict):
                    anthropic_counts(usage, self.counts)
                    self.final = True


class OpenAIMeter(Meter):
    def feed_body(self, body: bytes) -> None:
        try:
            completion = json.loads(body)
        except ValueError:
            return
        if isinstance(completion, dict) and isinstance(completion.get("usage"), dict):
            openai_counts(completion["usage"], self.counts)
            self.model = (
                completion.get("model") if isinstance(completion.get("model"), str) else None
            )
            self.final = self.started = True

    def usage_event(self, data: bytes) -> dict[str, Any] | None:
        """The parsed chunk if this data line carries the usage object, else None."""
        if b'"usage":{' not in data and b'"usage": {' not in data:
            return None
        try:
            chunk = json.loads(data)
        except ValueError:
            return None
        return chunk if isinstance(chunk, dict) and isinstance(chunk.get("usage"), dict) else None

    def feed_event(self, block: bytes) -> None:
        self.feed_data(event_fields(block)[1])

    def feed_data(self, data: bytes) -> dict[str, Any] | None:
        """Meters one chunk; returns it parsed when it is the usage chunk."""
        chunk = self.usage_event(data)
        if chunk is not None:
            openai_counts(chunk["usage"], self.counts)
            self.final = self.started = True
            if isinstance(chunk.get("model"), str):
                self.model = chunk["model"]
            return chunk
        if b'"content":"' in data or b'"content": "' in data:
            self.estimated_output += 1  # OpenAI streams about one token per chunk
        return None


def hosted_tool_uses(output: list[Any], counts: TokenCounts) -> None:
    """Counts what OpenAI bills per use in a response's output: web searches, file searches,
    and the code interpreter containers used (billed per container, not per call)."""
    kinds: dict[str, int] = {}
    containers: set[object] = set()
    for item in output:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            continue
        kind = item["type"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "code_interpreter_call":
            container = item.get("container_id")
            containers.add(container if isinstance(container, str) else id(item))
    counts.web_search_calls = min(kinds.get("web_search_call", 0), MAX_COUNT)
    counts.file_search_calls = min(kinds.get("file_search_call", 0), MAX_COUNT)
    counts.code_interpreter_containers = min(len(containers), MAX_COUNT)


_DELTA_TEXT = re.compile(rb'"delta":\s*"((?:[^"\\]|\\.)*)"')


class ResponsesMeter(Meter):
    """OpenAI Responses: usage comes with the final response object, in the body or in the
    stream's last event — `response.completed`, or `response.incomplete` / `response.failed`,
    which the upstream bills too. Hosted tools are counted from the output items."""

    FINAL = (b"response.completed", b"response.incomplete", b"response.failed")

    def feed_body(self, body: bytes) -> None:
        try:
            response = json.loads(body)
        except ValueError:
            return
        if isinstance(response, dict):
            self._final(response)

    def feed_event(self, block: bytes) -> None:
        name, data = event_fields(block)
        if name.endswith(b".delta"):
            # The delta's own text (escaped, as sent): the envelope of ids, indexes and
            # padding around it is longer than many deltas and is not output.
            text = _DELTA_TEXT.search(data)
            self.estimated_output += max(
                math.ceil(len(text.group(1)) / CHARS_PER_TOKEN) if text else 1, 1
            )
        elif name == b"error":
            self.upstream_error = True
        elif name in self.FINAL:
            try:
                event = json.loads(data)
            except ValueError:
                return
            if isinstance(event, dict) and isinstance(event.get("response"), dict):
                self._final(event["response"])

    def _final(self, response: dict[str, Any]) -> None:
        usage = response.get("usage")
        if not isinstance(usage, dict):
            return
        openai_counts(usage, self.counts, RESPONSES_USAGE)
        output = response.get("output")
        if isinstance(output, list):
            hosted_tool_uses(output, self.counts)
        if isinstance(response.get("model"), str):
            self.model = response["model"]
        self.final = self.started = True
