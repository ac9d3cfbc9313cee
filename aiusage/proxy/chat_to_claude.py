"""OpenAI Chat Completions <-> Anthropic Messages translation, so Chat Completions clients (the
openai SDK, Cursor) can use Claude models.

Requests go one way; responses, SSE streams, usage and errors come back the other. Pure
functions over dicts and bytes: no I/O, the proxy does the forwarding."""

from __future__ import annotations

import json
import re
from typing import Any

from aiusage.proxy.errors import error_body


class TranslationError(Exception):
    """The request cannot be expressed for Claude: the proxy answers 400 with str(error)."""


THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
NO_THINKING = {"minimal", "none"}
TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}
# The status of the error types an Anthropic stream may end with (its `error` event has none).
STREAM_ERROR_STATUSES = {"overloaded_error": 529, "rate_limit_error": 429, "timeout_error": 504}
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise TranslationError(message)


def _name(value: Any, where: str) -> str:
    if not (isinstance(value, str) and value):
        raise TranslationError(f"{where}: a name is required.")
    return value


# --- request ---------------------------------------------------------------------------------


def messages_request(payload: dict[str, Any], *, default_max_tokens: int) -> dict[str, Any]:
    """OpenAI Chat Completions request body -> Anthropic Messages request body."""
    _require(isinstance(payload, dict), "The request body must be a JSON object.")
    _reject_unsupported(payload)
    model = _name(payload.get("model"), "model")
    raw = payload.get("messages")
    if not (isinstance(raw, list) and raw):
        raise TranslationError("messages: a non-empty list is required.")
    system, messages = _messages(raw)
    out: dict[str, Any] = {"model": model, "messages": messages}
    out["max_tokens"] = _max_tokens(payload, default_max_tokens)
    if system:
        out["system"] = system
    if payload.get("stream") is not None:
        out["stream"] = bool(payload["stream"])
    forced = False
    if payload.get("tools"):  # Anthropic refuses tool_choice without tools; OpenAI ignores it
        out["tools"] = _tools(payload["tools"])
        choice = _tool_choice(payload.get("tool_choice"), payload.get("parallel_tool_calls"))
        if choice:
            out["tool_choice"] = choice
            forced = choice["type"] in ("any", "tool")
    stop = payload.get("stop")
    stop = [stop] if isinstance(stop, str) else stop
    if stop:
        ok = isinstance(stop, list) and all(isinstance(s, str) for s in stop)
        _require(ok, "stop: expected a string or a list of strings.")
        out["stop_sequences"] = stop
    user = payload.get("user") or payload.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    budget = _thinking_budget(payload.get("reasoning_effort"))
    # Anthropic refuses thinking when a tool is forced, and inside a tool loop it wants the
    # signed thinking block of the last turn back, which Chat Completions clients cannot send.
    if budget and not forced and not _in_tool_loop(messages):
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if out["max_tokens"] <= budget:  # Anthropic requires max_tokens > budget_tokens
            out["max_tokens"] += budget
        return out  # temperature and top_p are rejected with thinking
    temperature = _number(payload, "temperature")
    if temperature is not None:
        out["temperature"] = min(max(temperature, 0), 1)  # OpenAI allows 0..2, Anthropic 0..1
    top_p = _number(payload, "top_p")
    # Recent Claude models reject temperature and top_p together; clients often send top_p=1.
    if top_p is not None and temperature is None:
        out["top_p"] = top_p
    return out


def _reject_unsupported(payload: dict[str, Any]) -> None:
    legacy = payload.get("functions") is None and payload.get("function_call") is None
    _require(legacy, "functions/function_call are deprecated and not supported; use tools.")
    _require(payload.get("n") in (None, 1), "n: only 1 is supported for Claude models.")
    _require(
        payload.get("web_search_options") is None,
        "web_search_options: not supported for Claude models through the OpenAI format.",
    )
    _require(not payload.get("logprobs"), "logprobs: not available for Claude models.")
    fmt = payload.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else fmt
    _require(
        fmt is None or kind == "text",
        f"response_format {kind!r}: not supported for Claude models; describe the format in "
        "the prompt, or use a tool with the schema as its parameters.",
    )


def _max_tokens(payload: dict[str, Any], default: int) -> int:
    given = [(k, payload[k]) for k in ("max_completion_tokens", "max_tokens") if k in payload]
    values = [value for _, value in given if value is not None]
    for key, value in given:
        ok = value is None or (type(value) is int and value >= 1)
        _require(ok, f"{key}: expected a positive integer.")
    return max(values, default=default)


def _number(payload: dict[str, Any], key: str) -> float | int | None:
    value = payload.get(key)
    _require(value is None or type(value) in (int, float), f"{key}: expected a number.")
    return value


def _thinking_budget(effort: Any) -> int | None:
    if effort is None or effort in NO_THINKING:
        return None
    _require(
        effort in THINKING_BUDGETS,
        f"reasoning_effort: expected none, minimal, low, medium or high; got {effort!r}.",
    )
    return THINKING_BUDGETS[effort]


def _in_tool_loop(messages: list[dict[str, Any]]) -> bool:
    users = [m for m in messages if m["role"] == "user"]
    return bool(users) and any(b["type"] == "tool_result" for b in users[-1]["content"])


def _messages(raw: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        _require(isinstance(message, dict), f"{where}: expected an object.")
        role = message.get("role")
        if role in ("system", "developer"):
            text = _joined(_content(message.get("content"), where))
            if text.strip():
                system.append(text)
            continue
        if role == "user":
            blocks = _content(message.get("content"), where, images=True)
        elif role == "assistant":
            blocks = _assistant_blocks(message, where)
        elif role == "tool":
            role, blocks = "user", [_tool_result(message, where)]
        else:
            _require(role != "function", f"{where}: the function role is not supported; use tool.")
            raise TranslationError(f"{where}.role: unknown role {role!r}.")
        # Anthropic rejects blank text blocks and empty messages; OpenAI allows both.
        blocks = [b for b in blocks if b["type"] != "text" or b["text"].strip()]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:  # Anthropic requires alternating roles
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for message in out:
        if message["role"] == "user":  # tool_result blocks must lead their user message
            message["content"].sort(key=lambda block: block["type"] != "tool_result")
    if out and out[-1]["role"] == "assistant":  # a final (prefill) text may not end in blanks
        content = out[-1]["content"]
        if content[-1]["type"] == "text":
            content[-1]["text"] = content[-1]["text"].rstrip()
            if not content[-1]["text"]:
                content.pop()
                if not content:
                    out.pop()
    return "\n\n".join(system), out


def _content(content: Any, where: str, *, images: bool = False) -> list[dict[str, Any]]:
    """The blocks of a message content: a string or a list of text (and maybe image) parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    _require(isinstance(content, list), f"{where}.content: expected a string or a list.")
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url" and images:
            blocks.append(_image(part.get("image_url"), f"{where}.content[{j}]"))
        elif kind != "refusal":  # an assistant's earlier refusal: nothing Claude needs
            raise TranslationError(
                f"{where}.content[{j}]: parts of type {kind!r} are not supported here for "
                "Claude models."
            )
    return blocks


def _joined(blocks: list[dict[str, Any]]) -> str:
    return "\n\n".join(block["text"] for block in blocks)


def _image(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise TranslationError(f"{where}.image_url.url: expected a string.")
    if url.startswith("data:"):
        match = _DATA_URL.fullmatch(url)
        if not match:
            raise TranslationError(f"{where}: expected a data:<media type>;base64,<data> URL.")
        media = match.group(1).lower().replace("image/jpg", "image/jpeg")
        _require(
            media in IMAGE_TYPES,
            f"{where}: image type {media} is not supported (JPEG, PNG, GIF and WebP are).",
        )
        source = {"type": "base64", "media_type": media, "data": match.group(2)}
        return {"type": "image", "source": source}
    _require(url.startswith("https://"), f"{where}: image URLs must be https:// or data: URLs.")
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_id(value: Any, where: str) -> str:
    _require(isinstance(value, str) and bool(value), f"{where}: a tool call id is required.")
    # Anthropic ids must match ^[A-Za-z0-9_-]+$; some clients mint others. Both ends of a call
    # go through this, so they still pair up.
    return _UNSAFE_ID.sub("_", value)


def _function(item: Any, where: str) -> dict[str, Any]:
    function = item.get("function") if isinstance(item, dict) else None
    if not isinstance(function, dict) or item.get("type", "function") != "function":
        raise TranslationError(f"{where}: only function tools are supported.")
    return function


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = _content(message.get("content"), where)
    calls = message.get("tool_calls") or []
    _require(isinstance(calls, list), f"{where}.tool_calls: expected a list.")
    for j, call in enumerate(calls):
        at = f"{where}.tool_calls[{j}]"
        function = _function(call, at)
        name = _name(function.get("name"), f"{at}.function.name")
        arguments = function.get("arguments") or "{}"
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = None
        _require(isinstance(arguments, dict), f"{at}.function.arguments: expected a JSON object.")
        call_id = _tool_id(call.get("id"), f"{at}.id")
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": arguments})
    return blocks


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": _tool_id(message.get("tool_call_id"), where)}
    text = _joined(_content(message.get("content"), where))
    if text:  # content is optional for Anthropic, and an empty one is best left out
        block["content"] = text
    return block


def _tools(tools: Any) -> list[dict[str, Any]]:
    _require(isinstance(tools, list), "tools: expected a list.")
    out = []
    for i, tool in enumerate(tools):
        function = _function(tool, f"tools[{i}]")
        name = _name(function.get("name"), f"tools[{i}].function.name")
        parameters = function.get("parameters") or {"properties": {}}
        _require(isinstance(parameters, dict), f"tools[{i}].function.parameters: not a schema.")
        # Anthropic requires an object schema; OpenAI lets parameters be left out.
        converted = {"name": name, "input_schema": {"type": "object", **parameters}}
        if isinstance(function.get("description"), str) and function["description"]:
            converted["description"] = function["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        result = {"type": "tool", "name": _name(name, "tool_choice.function.name")}
    elif choice is not None:
        _require(
            isinstance(choice, str) and choice in TOOL_CHOICES,
            f"tool_choice: expected auto, required, none or a function; got {choice!r}.",
        )
        result = {"type": TOOL_CHOICES[choice]}
    if parallel is False and (result is None or result["type"] != "none"):
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result


# --- responses -------------------------------------------------------------------------------


def openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage -> OpenAI usage: the prompt counts cached and cache-written tokens too."""

    def count(key: str) -> int:
        value = usage.get(key) if isinstance(usage, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    cached = count("cache_read_input_tokens")
    prompt = count("input_tokens") + cached + count("cache_creation_input_tokens")
    completion = count("output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _arguments(value: Any) -> str:
    return json.dumps(value if isinstance(value, dict) else {}, separators=(",", ":"))


def chat_completion(message: dict[str, Any], *, completion_id: str, created: int) -> dict[str, Any]:
    """Anthropic Messages (non-stream) response body -> Chat Completions response body."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking") or ""))
        elif kind == "tool_use":
            function = {"name": block.get("name"), "arguments": _arguments(block.get("input"))}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    if thinking:  # where DeepSeek-style gateways put reasoning; clients ignore what they don't know
        reply["reasoning_content"] = "".join(thinking)
    choice = {
        "index": 0,
        "message": reply,
        "finish_reason": _finish_reason(message.get("stop_reason")),
        "logprobs": None,
    }
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": message.get("model") or "",
        "choices": [choice],
        "usage": openai_usage(message.get("usage") or {}),
    }


def _sse(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return b"data: " + text.encode() + b"\n\n"


DONE = _sse("[DONE]")


def openai_error(status: int, anthropic_body: bytes) -> tuple[int, bytes]:
    """An Anthropic error response -> (status, OpenAI error body), keeping the message."""
    try:
        body = json.loads(anthropic_body)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = f"The Anthropic API answered with an error (HTTP {status})."
    if status == 529:  # Anthropic's "overloaded"; OpenAI clients know and retry 503
        status = 503
    return status, error_body("openai", status, message)


class ChunkTranslator:
    """Anthropic SSE stream -> Chat Completions SSE stream (bytes), one event at a time."""

    def __init__(self, *, completion_id: str, created: int, include_usage: bool) -> None:
        self._id = completion_id
        self._created = created
        self._include_usage = include_usage
        self._model = ""
        self._usage: dict[str, Any] = {}
        self._tools: dict[Any, int] = {}  # Anthropic block index -> OpenAI tool call index
        self._silent_tools: set[Any] = set()  # tool blocks that have sent no arguments yet
        self._done = False

    def feed(self, name: bytes, data: bytes) -> bytes:
        """One Anthropic SSE event -> zero or more complete OpenAI SSE lines (b"" if none)."""
        if self._done:
            return b""
        try:
            event = json.loads(data)
        except ValueError:  # malformed JSON (or bytes): skip the event, keep the stream going
            return b""
        if not isinstance(event, dict):
            return b""
        kind = name.decode("utf-8", "replace").strip() or str(event.get("type", ""))
        try:
            return self._event(kind, event)
        except (AttributeError, KeyError, TypeError, ValueError):  # an odd shape: skip it
            return b""

    def error(self, status: int, message: str) -> bytes:
        """An OpenAI-shaped error as an SSE data line; the openai SDK raises APIError on it."""
        self._done = True
        return b"data: " + error_body("openai", 503 if status == 529 else status, message) + b"\n\n"

    def _event(self, kind: str, event: dict[str, Any]) -> bytes:
        if kind == "message_start":
            message = event.get("message") or {}
            self._model = str(message.get("model") or self._model)
            self._merge_usage(message.get("usage"))
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            return self._block_start(event.get("index"), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(event.get("index"), event.get("delta") or {})
        if kind == "content_block_stop":
            index = event.get("index")
            if index in self._silent_tools:  # a tool without arguments: "" is not valid JSON
                self._silent_tools.discard(index)
                return self._tool_chunk(index, {"function": {"arguments": "{}"}})
            return b""
        if kind == "message_delta":
            self._merge_usage(event.get("usage"))
            stop_reason = (event.get("delta") or {}).get("stop_reason")
            return self._chunk({}, _finish_reason(stop_reason)) if stop_reason else b""
        if kind == "message_stop":
            self._done = True
            if not self._include_usage:
                return DONE
            return _sse({**self._base(), "choices": [], "usage": openai_usage(self._usage)}) + DONE
        if kind == "error":
            error = event.get("error") or {}
            message = str(error.get("message") or "The Anthropic API stream failed.")
            return (
                self.error(STREAM_ERROR_STATUSES.get(str(error.get("type")), 500), message) + DONE
            )
        return b""  # ping, and event types added later

    def _block_start(self, index: Any, block: dict[str, Any]) -> bytes:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return self._chunk({"content": block["text"]})
        if kind == "thinking" and block.get("thinking"):
            return self._chunk({"reasoning_content": block["thinking"]})
        if kind == "tool_use":
            self._tools[index] = len(self._tools)
            arguments = _arguments(block["input"]) if block.get("input") else ""
            if not arguments:
                self._silent_tools.add(index)
            function = {"name": block.get("name"), "arguments": arguments}
            return self._tool_chunk(
                index, {"id": block.get("id"), "type": "function", "function": function}
            )
        return b""

    def _block_delta(self, index: Any, delta: dict[str, Any]) -> bytes:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return self._chunk({"content": delta["text"]})
        if kind == "thinking_delta" and delta.get("thinking"):
            return self._chunk({"reasoning_content": delta["thinking"]})
        if kind == "input_json_delta" and index in self._tools and delta.get("partial_json"):
            self._silent_tools.discard(index)
            return self._tool_chunk(index, {"function": {"arguments": delta["partial_json"]}})
        return b""  # signature_delta, citations_delta, server tool input

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):  # message_delta counts are cumulative: the latest wins
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _base(self) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        chunk = {**self._base(), "choices": [choice]}
        if self._include_usage:  # as OpenAI does: null on every chunk but the last
            chunk["usage"] = None
        return _sse(chunk)

    def _tool_chunk(self, index: Any, call: dict[str, Any]) -> bytes:
        return self._chunk({"tool_calls": [{"index": self._tools[index], **call}]})
