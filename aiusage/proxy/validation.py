"""Checking what the proxy acts on or stores from a request, before anything is held or
forwarded: the JSON body, the model name, the numbers that bound the hold, and the headers
kept on the usage row. Bad input is a 400 in the caller's format, never a row the usage
writer cannot book (a lone surrogate once stopped billing for everyone)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiusage.proxy.errors import ProxyError

MAX_MODEL_CHARS = 100
MAX_USER_AGENT_CHARS = 512
MAX_SESSION_ID_CHARS = 128
# Far above any model's real limit, far below where a hold could overflow a 64-bit column.
MAX_OUTPUT_TOKENS = 10_000_000
MAX_CHOICES = 128  # OpenAI's own limit for `n`
MAX_TOOL_USES = 10_000
# Responses tools the upstream bills per call (function, custom and shell tools run client-side).
HOSTED_TOOLS = ("web_search", "file_search", "code_interpreter")
# Responses fields that make the upstream read input the request does not carry.
STORED_CONTEXT = ("previous_response_id", "conversation", "prompt")
# C0 and C1 control characters and DEL: never part of a model name or a header we keep.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # a header may hold a tab
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class RequestShape:
    """What the hold is computed from: none of it is content."""

    model: str
    max_output: int | None  # the request's own maximum, if it names one
    choices: int  # OpenAI `n`
    server_tool_uses: int  # bound on billable server-side tool uses (web search/fetch)
    # Input tokens, when the request's size does not bound them (stored context upstream).
    input_tokens: int | None = None


def parse_json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProxyError(400, "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise ProxyError(400, "The request body must be a JSON object.")
    if _SURROGATE_ESCAPE.search(body) and not _encodable(payload):
        # Valid JSON, but no valid text: no provider accepts it, and nothing may store it.
        raise ProxyError(400, "The request body contains an unpaired UTF-16 surrogate.")
    return payload


def _encodable(value: Any) -> bool:
    """True when every string in the JSON value (keys too) is valid Unicode."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def model_name(value: Any) -> str | None:
    """The value if it is a model name the proxy can price and store, else None."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_MODEL_CHARS
        or _CONTROL.search(value)
        or not value.isprintable()
    ):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _count(payload: dict[str, Any], name: str, low: int, high: int) -> int | None:
    """An optional integer field within [low, high]; 400 for anything else (bools, floats,
    1e24, strings). null counts as absent."""
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProxyError(400, f"{name}: must be a whole number from {low} to {high}.")
    return value


def _anthropic_server_tool_uses(tools: Any, default_uses: int) -> int:
    uses = 0
    if not isinstance(tools, list):
        return 0
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith(("web_search_", "web_fetch_")):
            limit = _count(tool, "max_uses", 1, MAX_TOOL_USES)
            uses += limit if limit is not None else default_uses
    return uses


def checked_model(payload: dict[str, Any]) -> str:
    model = model_name(payload.get("model"))
    if model is None:
        raise ProxyError(
            400,
            f"model: a model name is required (at most {MAX_MODEL_CHARS} printable characters).",
        )
    return model


def anthropic_shape(payload: dict[str, Any], default_tool_uses: int) -> RequestShape:
    """Anthropic Messages: `max_tokens`; web search/fetch tools bounded by their `max_uses`."""
    return RequestShape(
        model=checked_model(payload),
        max_output=_count(payload, "max_tokens", 1, MAX_OUTPUT_TOKENS),
        choices=1,
        server_tool_uses=_anthropic_server_tool_uses(payload.get("tools"), default_tool_uses),
    )


def chat_shape(payload: dict[str, Any]) -> RequestShape:
    """OpenAI Chat Completions: the larger of the two output maximums, times `n`; with
    `web_search_options`, one search per choice."""
    model = checked_model(payload)
    bounds = [
        _count(payload, name, 1, MAX_OUTPUT_TOKENS)
        for name in ("max_completion_tokens", "max_tokens")
    ]
    named = [bound for bound in bounds if bound is not None]
    choices = _count(payload, "n", 1, MAX_CHOICES) or 1
    searches = choices if isinstance(payload.get("web_search_options"), dict) else 0
    return RequestShape(
        model=model,
        max_output=max(named) if named else None,
        choices=choices,
        server_tool_uses=searches,
    )


def responses_shape(
    payload: dict[str, Any], default_tool_uses: int, stored_context_tokens: int = 0
) -> RequestShape:
    """OpenAI Responses: `max_output_tokens`; hosted tools bounded by `max_tool_calls`, else
    the default; a request that makes the upstream read stored context (an earlier
    response, a conversation, a stored prompt) is held for `stored_context_tokens` of input.
    A background response is refused: it is billed after the call returns, when nobody is
    there to meter it."""
    model = checked_model(payload)
    if payload.get("background") is True:
        raise ProxyError(400, "background: background responses are not supported through aiusage.")
    tools = payload.get("tools")
    hosted = isinstance(tools, list) and any(
        isinstance(tool, dict)
        and isinstance(tool.get("type"), str)
        and tool["type"].startswith(HOSTED_TOOLS)
        for tool in tools
    )
    limit = _count(payload, "max_tool_calls", 0, MAX_TOOL_USES)
    return RequestShape(
        model=model,
        max_output=_count(payload, "max_output_tokens", 1, MAX_OUTPUT_TOKENS),
        choices=1,
        server_tool_uses=(default_tool_uses if limit is None else limit) if hosted else 0,
        input_tokens=(
            stored_context_tokens
            if any(payload.get(name) is not None for name in STORED_CONTEXT)
            else None
        ),
    )


def header_text(headers: dict[bytes, bytes], name: bytes, limit: int) -> str | None:
    """A header kept on the usage row: 400 for control characters or over-long values."""
    value = headers.get(name)
    if value is None:
        return None
    if len(value) > limit or _CONTROL_BYTES.search(value):
        raise ProxyError(
            400,
            f"{name.decode()}: at most {limit} characters, without control characters.",
        )
    return value.decode("latin-1")
