"""Realistic request bodies and headers for the load generator.

A default body is ~2 KB: a system prompt and a short conversation, what a chat client sends.
The large option (~100 KB) looks like a Claude Code turn: tool definitions, a cached system
prompt, and a long history of text, tool_use and tool_result blocks."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

ANTHROPIC_MODEL = "claude-sonnet-4-5"
OPENAI_MODEL = "gpt-4o"
MAX_TOKENS = 1024

_WORDS = (
    "the proxy forwards each request upstream and meters the tokens it reports while the "
    "response streams back to the client function returns value error handler config file "
    "module import test database session key balance charge usage row latency budget cache "
    "write read stream event delta message tool result content block system prompt user "
    "assistant refactor rename variable line column path directory build lint check format "
    "élan naïve café — “quoted” déjà vu"
).split()


def _text(rng: random.Random, n_chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < n_chars:
        word = rng.choice(_WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def _code(rng: random.Random, n_chars: int) -> str:
    lines: list[str] = []
    size = 0
    i = 0
    while size < n_chars:
        name = rng.choice(_WORDS).replace("—", "x")
        line = f"    def {name}_{i}(self, value: int) -> int:\n        return value * {i}  # {name}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


def _tools() -> list[dict[str, Any]]:
    tools = []
    for name in ("Read", "Edit", "Write", "Bash", "Grep", "Glob", "TodoWrite", "WebFetch"):
        tools.append(
            {
                "name": name,
                "description": f"{name}: " + _text(random.Random(name), 600),
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "Absolute path."},
                        "content": {"type": "string"},
                        "limit": {"type": "integer", "minimum": 1},
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
            }
        )
    return tools


def anthropic_payload(target_bytes: int, stream: bool, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    payload: dict[str, Any] = {
        "model": ANTHROPIC_MODEL,
        "max_tokens": MAX_TOKENS,
        "system": [
            {
                "type": "text",
                "text": "You are a careful coding assistant. " + _text(rng, 500),
                "cache_control": {"type": "ephemeral"},
            }
        ],
        "messages": [],
        "stream": stream,
    }
    if target_bytes > 8_000:
        payload["tools"] = _tools()
        payload["metadata"] = {"user_id": "user_bench_session_0123456789abcdef"}
    messages: list[dict[str, Any]] = payload["messages"]
    turn = 0
    while len(json.dumps(payload, ensure_ascii=False).encode()) < target_bytes - 400:
        remaining = target_bytes - len(json.dumps(payload, ensure_ascii=False).encode())
        if target_bytes <= 8_000:
            messages.append({"role": "user", "content": _text(rng, min(600, remaining // 2))})
            messages.append({"role": "assistant", "content": _text(rng, min(300, remaining // 3))})
        else:
            tool_id = f"toolu_{turn:04d}{rng.getrandbits(48):012x}"
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": _text(rng, 200)},
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "Read",
                            "input": {"path": f"/repo/src/module_{turn}.py"},
                        },
                    ],
                }
            )
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_id,
                            "content": _code(rng, min(4_000, max(200, remaining - 600))),
                        }
                    ],
                }
            )
        turn += 1
    messages.append({"role": "user", "content": "Please continue. " + _text(rng, 120)})
    return payload


def openai_payload(target_bytes: int, stream: bool, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a careful coding assistant. " + _text(rng, 500)}
    ]
    payload: dict[str, Any] = {
        "model": OPENAI_MODEL,
        "max_tokens": MAX_TOKENS,
        "messages": messages,
        "stream": stream,
    }
    while len(json.dumps(payload, ensure_ascii=False).encode()) < target_bytes - 400:
        remaining = target_bytes - len(json.dumps(payload, ensure_ascii=False).encode())
        if target_bytes <= 8_000:
            messages.append({"role": "user", "content": _text(rng, min(600, remaining // 2))})
            messages.append({"role": "assistant", "content": _text(rng, min(300, remaining // 3))})
        else:
            messages.append({"role": "user", "content": _code(rng, min(4_000, remaining - 300))})
            messages.append({"role": "assistant", "content": _text(rng, 300)})
    messages.append({"role": "user", "content": "Please continue. " + _text(rng, 120)})
    return payload


def responses_payload(target_bytes: int, stream: bool, seed: int = 1) -> dict[str, Any]:
    """An OpenAI Responses request shaped like Codex's: instructions, input items, no store."""
    chat = openai_payload(target_bytes, stream, seed)
    messages = chat["messages"]
    return {
        "model": OPENAI_MODEL,
        "instructions": messages[0]["content"],
        "input": [
            {
                "type": "message",
                "role": message["role"],
                "content": [
                    {
                        "type": "input_text" if message["role"] == "user" else "output_text",
                        "text": message["content"],
                    }
                ],
            }
            for message in messages[1:]
        ],
        "max_output_tokens": MAX_TOKENS,
        "stream": stream,
        "store": False,
    }


UPSTREAM_PATHS = {
    "anthropic": "/v1/messages",
    "openai": "/v1/chat/completions",
    "responses": "/v1/responses",
}
PAYLOADS = {
    "anthropic": anthropic_payload,
    "openai": openai_payload,
    "responses": responses_payload,
}


@dataclass(frozen=True)
class RequestKind:
    """One kind of request the generator sends: a provider, streamed or not."""

    provider: str  # "anthropic" | "openai" (Chat Completions) | "responses" (OpenAI's)
    stream: bool

    @property
    def name(self) -> str:
        return f"{self.provider}{'-stream' if self.stream else ''}"

    def path(self, target: str) -> str:
        upstream = UPSTREAM_PATHS[self.provider]
        return ("/api" + upstream) if target == "proxy" else upstream

    def body(self, target_bytes: int) -> bytes:
        make = PAYLOADS[self.provider]
        # Compact separators, as the SDKs send; non-ASCII kept as UTF-8.
        return json.dumps(
            make(target_bytes, self.stream), ensure_ascii=False, separators=(",", ":")
        ).encode()

    def raw_request(self, target: str, host: str, port: int, key: str, target_bytes: int) -> bytes:
        """The whole HTTP/1.1 request, as an SDK would send it."""
        body = self.body(target_bytes)
        headers = [
            ("Host", f"{host}:{port}"),
            ("Accept", "text/event-stream" if self.stream else "application/json"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("User-Agent", "aiusage-bench/1.0 (like an SDK)"),
            ("X-Stainless-Lang", "python"),
            ("X-Stainless-Runtime", "CPython"),
            ("X-Stainless-Retry-Count", "0"),
        ]
        if self.provider == "anthropic":
            headers += [("x-api-key", key), ("anthropic-version", "2023-06-01")]
        else:
            headers += [("Authorization", f"Bearer {key}")]
        head = f"POST {self.path(target)} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers
        )
        return (head + "\r\n").encode("latin-1") + body


ALL_KINDS = tuple(RequestKind(p, s) for p in ("anthropic", "openai") for s in (False, True))
# Asked for by name (`--kinds responses,responses-stream`); not in the mixed-traffic default.
RESPONSES_KINDS = (RequestKind("responses", False), RequestKind("responses", True))


def kind_from_name(name: str) -> RequestKind:
    for kind in ALL_KINDS + RESPONSES_KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown request kind {name!r}")
