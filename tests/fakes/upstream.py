"""A fake Anthropic + OpenAI upstream: a real HTTP server on loopback.

Used in-process by tests (``with FakeUpstream() as up: ...``) and standalone by
the benchmark (``python -m tests.fakes.upstream --port 9999``).

It is a raw ASGI app served by uvicorn in a background thread with its own
event loop. Raw ASGI (no framework) keeps per-request work minimal, since the
benchmark measures the proxy in front of it, not this server.

Routes: ``POST /v1/messages``, ``POST /v1/messages/count_tokens``,
``GET /v1/models`` (Anthropic or OpenAI shape, by auth header),
``POST /v1/chat/completions`` and the OpenAI Responses API: ``POST /v1/responses``
(plain or SSE), ``POST /v1/responses/input_tokens``, ``GET``/``DELETE
/v1/responses/{id}``, ``POST /v1/responses/{id}/cancel`` and ``GET
/v1/responses/{id}/input_items``. Behaviour is driven by the mutable
``FakeUpstream.behavior`` (see ``Behavior``).

``sent_log`` names: Anthropic and Responses events use their SSE event type
(``message_start``, ``content_block_delta``, ``response.output_text.delta``, ...).
Chat Completions events are named ``chunk.role``, ``chunk.delta``, ``chunk.finish``,
``chunk.usage`` and ``[DONE]``. Two markers (prefixed with ``!``) record abnormal ends:
``!dropped`` (drop_after_deltas closed the connection) and
``!client_disconnected`` (the client went away mid-stream; we stop sending).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import signal
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol
from urllib.parse import parse_qs

import uvicorn

try:  # optional codecs: only needed when a test asks for them
    import brotli
except ImportError:  # pragma: no cover
    brotli = None  # type: ignore[assignment]
try:
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None  # type: ignore[assignment]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

__all__ = ["Behavior", "FakeUpstream", "RecordedRequest"]


@dataclass
class Behavior:
    """How the fake answers. Mutable: tests change fields between requests."""

    status: int = 200  # non-200 -> provider-format error body with this status
    # Statuses by upstream key (x-api-key or the Bearer token): a key listed here is answered
    # with that status and a provider-format error (a pool's first key at its rate limit).
    key_statuses: dict[str, int] = field(default_factory=dict)
    error_message: str = "fake upstream error"
    reply_text: str = "Hello from the fake upstream."
    input_tokens: int = 25
    output_tokens: int = 12
    cache_creation_5m: int = 0  # Anthropic cache write, 5-minute TTL
    cache_creation_1h: int = 0  # Anthropic cache write, 1-hour TTL
    # Anthropic cache_read_input_tokens / OpenAI cached_tokens. On the OpenAI routes the
    # cached tokens are INCLUDED in the reported input, as the real API reports them:
    # usage.input_tokens (Responses) / prompt_tokens (Chat) = input_tokens + cache_read.
    cache_read: int = 0
    chunk_delay: float = 0.0  # seconds between consecutive content deltas
    n_deltas: int = 4  # content deltas reply_text is split into (capped at len(text))
    response_delay: float = 0.0  # sleep before sending response headers
    drop_after_deltas: int | None = None  # streaming: abort the connection after N deltas
    # streaming: no usage in message_delta / no usage chunk / the final Responses event's
    # response has "usage": null
    omit_final_usage: bool = False
    usage_updates: int = 1  # Anthropic streaming: message_delta events with cumulative usage
    openai_usage_chunk_has_choices: bool = False  # usage rides on the finish chunk
    compress: str | None = None  # "gzip" | "br" | "zstd", if Accept-Encoding allows it
    model_override: str | None = None  # model echoed back (default: the request's)
    first_event_delay: float = 0.0  # streaming: sleep between the headers and the first event
    web_search_requests: int = 0  # Anthropic usage.server_tool_use.web_search_requests
    # OpenAI output_tokens_details.reasoning_tokens (Responses) and
    # completion_tokens_details.reasoning_tokens (Chat Completions). As the real API does,
    # they are INCLUDED in the reported output: usage.output_tokens (completion_tokens) =
    # output_tokens + reasoning_tokens.
    reasoning_tokens: int = 0
    # Responses API: how a response ends. "completed" | "incomplete" (status "incomplete",
    # incomplete_details.reason "max_output_tokens") | "failed" (status "failed", error
    # {"code": "server_error", ...}); streaming, the final event is response.<that>. Each
    # still carries usage.
    responses_final: str = "completed"
    # Responses API: web_search_call output items (action "search") before the message.
    web_search_calls: int = 0
    # (name, value) pairs added to every response's headers, e.g. hop-by-hop ones
    extra_response_headers: list[tuple[str, str]] = field(default_factory=list)
    # Anthropic /v1/messages: the answer calls a tool. {"name": str, "input": dict} and
    # optionally "id" (else a fresh "toolu_..." id). The message ends with a tool_use block
    # and stop_reason "tool_use"; the reply_text block comes first unless reply_text is ""
    # (then the tool_use block is the only one, at index 0). Streamed as the real API does:
    # content_block_start (with "input": {}), input_json_delta pieces (the first one "",
    # none but that for an empty input), content_block_stop.
    tool_use: dict[str, Any] | None = None
    tool_input_deltas: int = 3  # streaming: non-empty input_json_delta pieces (capped at len)
    # Anthropic streaming: the stream fails midway as the real API's can (HTTP 200 already
    # sent): after the text deltas, an "error" event of this type (e.g. "overloaded_error")
    # with error_message, and nothing more (no content_block_stop, message_delta or
    # message_stop). sent_log name: "error".
    stream_error: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; duplicates joined with ", "
    body: bytes
    received_at: float  # time.monotonic() when the request reached the app

    def json(self) -> Any:
        return json.loads(self.body)


class _DropConnection(Exception):
    """Raised inside a streaming response to make uvicorn close the socket
    without the terminating chunk, i.e. a broken stream from the client's view."""


class _QuietFilter(logging.Filter):
    # uvicorn logs every exception escaping the app with a traceback; our
    # deliberate drops and shutdown cancellations are not errors, so hide them.
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, (_DropConnection, asyncio.CancelledError))


_uvicorn_error_logger = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _QuietFilter) for f in _uvicorn_error_logger.filters):
    _uvicorn_error_logger.addFilter(_QuietFilter())


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _sse(event: str, data: bytes) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


# Constant events are serialized once (cheap streaming for the benchmark).
_A_BLOCK_START = _sse(
    "content_block_start",
    b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
)
_A_PING = _sse("ping", b'{"type":"ping"}')
_A_BLOCK_STOP = _sse("content_block_stop", b'{"type":"content_block_stop","index":0}')
_A_MESSAGE_STOP = _sse("message_stop", b'{"type":"message_stop"}')
_A_DELTA_PREFIX = (
    b"event: content_block_delta\ndata: "
    b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
)
_OA_DONE = b"data: [DONE]\n\n"

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
# status -> (type, code), as the real OpenAI API reports them.
_OPENAI_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _split_text(text: str, n: int) -> list[str]:
    """Split text into min(n, len(text)) near-equal non-empty pieces."""
    n = min(max(n, 1), len(text))
    if n == 0:
        return []
    size, extra = divmod(len(text), n)
    pieces, pos = [], 0
    for i in range(n):
        end = pos + size + (1 if i < extra else 0)
        pieces.append(text[pos:end])
        pos = end
    return pieces


def _accepts(accept_encoding: str, coding: str) -> bool:
    """True if an Accept-Encoding header value allows `coding` (q=0 refuses)."""
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name not in (coding, "*"):
            continue
        params = params.replace(" ", "")
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class _Compressor(Protocol):
    # chunk() compresses and flushes, so each event is decodable as soon as it arrives.
    def chunk(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _Gzip:
    def __init__(self) -> None:
        self._c = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31 = gzip container

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._c.flush(zlib.Z_FINISH)


class _Brotli:
    def __init__(self) -> None:
        self._c = brotli.Compressor()

    def chunk(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.flush()

    def finish(self) -> bytes:
        return self._c.finish()


class _Zstd:
    def __init__(self) -> None:
        self._c = zstandard.ZstdCompressor().compressobj()

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._c.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


_COMPRESSORS: dict[str, Callable[[], _Compressor]] = {"gzip": _Gzip}
if brotli is not None:
    _COMPRESSORS["br"] = _Brotli
if zstandard is not None:
    _COMPRESSORS["zstd"] = _Zstd


class _Request:
    """Per-request state passed between the handlers."""

    __slots__ = (
        "behavior",
        "body",
        "coding",
        "headers",
        "method",
        "openai",
        "path",
        "query",
        "receive",
        "req_id",
        "send",
    )

    def __init__(
        self, upstream: FakeUpstream, scope: Scope, receive: Receive, send: Send, body: bytes
    ) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: str = scope["query_string"].decode("latin-1")  # raw, as sent
        self.body = body
        self.receive = receive
        self.send = send
        self.behavior = upstream.behavior  # one Behavior for the whole response
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        coding = self.behavior.compress
        self.coding = (
            coding
            if coding in _COMPRESSORS and _accepts(headers.get("accept-encoding", ""), coding)
            else None
        )
        # Which provider's format to use for errors, /v1/models and 404s.
        self.openai = self.path.startswith(("/v1/chat/", "/v1/responses")) or (
            not self.path.startswith("/v1/messages")
            and "x-api-key" not in headers
            and "anthropic-version" not in headers
            and headers.get("authorization", "").lower().startswith("bearer ")
        )
        self.req_id = "req_" + uuid.uuid4().hex[:24]

    def base_headers(self, content_type: bytes) -> Headers:
        headers: Headers = [(b"content-type", content_type)]
        headers.append((b"x-request-id" if self.openai else b"request-id", self.req_id.encode()))
        if self.coding:
            headers.append((b"content-encoding", self.coding.encode()))
        for name, value in self.behavior.extra_response_headers:
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        return headers


class FakeUpstream:
    """Loopback HTTP server speaking the Anthropic and OpenAI wire formats."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record: bool = True) -> None:
        self.host = host
        self.port = port
        self.record = record  # False for the long-running benchmark: no unbounded logs
        self.behavior = Behavior()
        self.requests: list[RecordedRequest] = []
        self.sent_log: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()  # in-flight requests, cancelled by stop()
        # Responses API objects by id, with their input items, for retrieve/input_items
        # (kept only when recording: the benchmark must not grow without bound).
        self.stored_responses: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self.url = ""

    # ----- lifecycle -----

    def start(self) -> FakeUpstream:
        # Bind ourselves so the ephemeral port is known before the thread runs.
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted
        # sockets whose proto is TCP; with proto 0, Nagle + delayed ACKs add
        # ~40 ms to responses written in several pieces.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.url = (
            f"http://[{self.host}]:{self.port}"
            if ":" in self.host
            else f"http://{self.host}:{self.port}"
        )
        config = uvicorn.Config(
            self._app,
            log_config=None,  # leave the host process's logging alone
            log_level="warning",
            access_log=False,
            interface="asgi3",  # a bound method defeats uvicorn's auto-detection
            lifespan="off",
            ws="none",
            backlog=4096,
            timeout_keep_alive=75,  # longer than client pools keep idle sockets: no close races
            timeout_graceful_shutdown=1,  # stop() must not wait for long sleeps/streams
            server_header=False,
        )
        server = uvicorn.Server(config)
        self._server = server

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # surfaced by start() below
                self._thread_error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"fake-upstream-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake upstream failed to start: {self._thread_error!r}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            # Cancel in-flight requests (long response_delay / slow streams) so that
            # uvicorn's graceful shutdown does not wait for them.
            self._loop.call_soon_threadsafe(self._cancel_in_flight)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        self._loop = None

    def _cancel_in_flight(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def reset(self) -> None:
        with self._lock:
            self.behavior = Behavior()
            self.requests.clear()
            self.sent_log.clear()
            self.stored_responses.clear()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- ASGI app -----

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; nothing else is expected
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(scope, receive, send)
        finally:
            self._tasks.discard(task)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = time.monotonic()
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        req = _Request(self, scope, receive, send, body)
        if self.record:
            rec = RecordedRequest(
                method=req.method,
                path=req.path,
                query=req.query,
                headers=req.headers,
                body=body,
                received_at=received_at,
            )
            with self._lock:
                self.requests.append(rec)

        handler = _find_route(req.method, req.path.rstrip("/"))
        if handler is None:
            await self._send_error(req, 404, f"Not found: {req.method} {req.path}")
            return
        b = req.behavior
        if b.response_delay > 0:
            await asyncio.sleep(b.response_delay)
        if b.status != 200:
            await self._send_error(req, b.status, b.error_message)
            return
        if b.key_statuses:
            presented = req.headers.get("x-api-key") or req.headers.get(
                "authorization", ""
            ).removeprefix("Bearer ")
            if presented in b.key_statuses:
                await self._send_error(req, b.key_statuses[presented], b.error_message)
                return
        await handler(self, req)

    def _log(self, name: str) -> None:
        if self.record:
            self.sent_log.append((time.monotonic(), name))  # list.append is atomic under the GIL

    # ----- plain responses -----

    async def _send_json(self, req: _Request, status: int, payload: Any) -> None:
        data = _dumps(payload)
        if req.coding:
            c = _COMPRESSORS[req.coding]()
            data = c.chunk(data) + c.finish()
        headers = req.base_headers(b"application/json")
        headers.append((b"content-length", str(len(data)).encode()))
        await req.send({"type": "http.response.start", "status": status, "headers": headers})
        await req.send({"type": "http.response.body", "body": data})

    async def _send_error(self, req: _Request, status: int, message: str) -> None:
        if req.openai:
            etype, code = _OPENAI_ERROR_TYPES.get(status, ("server_error", None))
            payload: dict[str, Any] = {
                "error": {"message": message, "type": etype, "param": None, "code": code}
            }
        else:
            etype = _ANTHROPIC_ERROR_TYPES.get(
                status, "api_error" if status >= 500 else "invalid_request_error"
            )
            payload = {
                "type": "error",
                "error": {"type": etype, "message": message},
                "request_id": req.req_id,
            }
        await self._send_json(req, status, payload)

    def _parse(self, req: _Request) -> dict[str, Any] | None:
        try:
            data = json.loads(req.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    # ----- streaming plumbing -----

    async def _stream(self, req: _Request, events: Callable[[_Emit], Awaitable[None]]) -> None:
        headers = req.base_headers(b"text/event-stream; charset=utf-8")
        headers.append((b"cache-control", b"no-cache"))
        await req.send({"type": "http.response.start", "status": 200, "headers": headers})
        emit = _Emit(self, req)
        try:
            if req.behavior.first_event_delay:
                await asyncio.sleep(req.behavior.first_event_delay)
            await events(emit)
        except _ClientGone:
            self._log("!client_disconnected")
            return
        finally:
            emit.close_watch()
        tail = emit.compressor.finish() if emit.compressor else b""
        await req.send({"type": "http.response.body", "body": tail, "more_body": False})

    # ----- Anthropic -----

    async def _messages(self, req: _Request) -> None:
        body = self._parse(req)
        if body is None:
            await self._send_error(req, 400, "Request body must be a JSON object")
            return
        b = req.behavior
        model = b.model_override or body.get("model") or "claude-fake"
        msg_id = "msg_" + uuid.uuid4().hex[:24]
        cache_write = b.cache_creation_5m + b.cache_creation_1h
        usage: dict[str, Any] = {
            "input_tokens": b.input_tokens,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": b.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": b.cache_creation_5m,
                "ephemeral_1h_input_tokens": b.cache_creation_1h,
            },
            "output_tokens": b.output_tokens,
            "service_tier": "standard",
        }
        if b.web_search_requests:
            usage["server_tool_use"] = {"web_search_requests": b.web_search_requests}
        tool = _tool_use_block(b.tool_use) if b.tool_use is not None else None
        with_text = tool is None or bool(b.reply_text)  # the text block, at index 0
        content: list[dict[str, Any]] = []
        if with_text:
            content.append({"type": "text", "text": b.reply_text})
        if tool is not None:
            content.append(tool)
        stop_reason = "end_turn" if tool is None else "tool_use"
        message: dict[str, Any] = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "content": content,
            "model": model,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            await self._send_json(req, 200, message)
            return

        async def events(emit: _Emit) -> None:
            message.update(content=[], stop_reason=None)
            usage["output_tokens"] = 1  # as the real API: output so far at message_start
            await emit(
                "message_start",
                _sse("message_start", _dumps({"type": "message_start", "message": message})),
            )
            if with_text:
                await emit("content_block_start", _A_BLOCK_START)
                await emit("ping", _A_PING)
                await emit.deltas(
                    _split_text(b.reply_text, b.n_deltas),
                    lambda piece: _A_DELTA_PREFIX + _dumps(piece) + b"}}\n\n",
                    "content_block_delta",
                )
                if b.stream_error is not None:
                    error = {"type": b.stream_error, "message": b.error_message}
                    await emit("error", _sse("error", _dumps({"type": "error", "error": error})))
                    return
                await emit("content_block_stop", _A_BLOCK_STOP)
            if tool is not None:
                await self._stream_tool_use(emit, b, tool, index=1 if with_text else 0)
            updates = max(b.usage_updates, 1)
            for i in range(1, updates + 1):
                last = i == updates
                delta: dict[str, Any] = {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason if last else None, "stop_sequence": None},
                }
                if not b.omit_final_usage:
                    # Cumulative: intermediate counts are smaller, the last is final.
                    out = b.output_tokens if last else max(1, b.output_tokens * i // updates)
                    delta["usage"] = {
                        "input_tokens": b.input_tokens,
                        "cache_creation_input_tokens": cache_write,
                        "cache_read_input_tokens": b.cache_read,
                        "output_tokens": out,
                    }
                    if b.web_search_requests:
                        delta["usage"]["server_tool_use"] = {
                            "web_search_requests": b.web_search_requests
                        }
                await emit("message_delta", _sse("message_delta", _dumps(delta)))
            await emit("message_stop", _A_MESSAGE_STOP)

        await self._stream(req, events)

    @staticmethod
    async def _stream_tool_use(emit: _Emit, b: Behavior, tool: dict[str, Any], index: int) -> None:
        start = {"type": "content_block_start", "index": index, "content_block": {**tool}}
        start["content_block"]["input"] = {}  # the input arrives in the deltas
        await emit("content_block_start", _sse("content_block_start", _dumps(start)))
        if index == 0:
            await emit("ping", _A_PING)
        arguments = json.dumps(tool["input"]) if tool["input"] else ""
        for i, piece in enumerate(["", *_split_text(arguments, b.tool_input_deltas)]):
            if i > 1 and b.chunk_delay > 0:
                await asyncio.sleep(b.chunk_delay)
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            await emit("content_block_delta", _sse("content_block_delta", _dumps(delta)))
        stop = {"type": "content_block_stop", "index": index}
        await emit("content_block_stop", _sse("content_block_stop", _dumps(stop)))

    async def _count_tokens(self, req: _Request) -> None:
        await self._send_json(req, 200, {"input_tokens": req.behavior.input_tokens})

    async def _models(self, req: _Request) -> None:
        if req.openai:
            await self._send_json(
                req,
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                        for m in ("gpt-4o", "gpt-4o-mini")
                    ],
                },
            )
            return
        models = [
            ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
            ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
        ]
        await self._send_json(
            req,
            200,
            {
                "data": [
                    {"type": "model", "id": i, "display_name": n, "created_at": c}
                    for i, n, c in models
                ],
                "has_more": False,
                "first_id": models[0][0],
                "last_id": models[-1][0],
            },
        )

    # ----- OpenAI -----

    async def _chat_completions(self, req: _Request) -> None:
        body = self._parse(req)
        if body is None:
            await self._send_error(req, 400, "We could not parse the JSON body of your request.")
            return
        b = req.behavior
        model = b.model_override or body.get("model") or "gpt-fake"
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        # OpenAI's prompt_tokens includes the cached tokens.
        # And its completion_tokens includes the reasoning tokens.
        completion = b.output_tokens + b.reasoning_tokens
        usage = {
            "prompt_tokens": b.input_tokens + b.cache_read,
            "completion_tokens": completion,
            "total_tokens": b.input_tokens + b.cache_read + completion,
            "prompt_tokens_details": {"cached_tokens": b.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": b.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if not body.get("stream"):
            await self._send_json(
                req,
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": b.reply_text,
                                "refusal": None,
                                "annotations": [],
                            },
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "service_tier": "default",
                    "system_fingerprint": "fp_fake",
                },
            )
            return

        opts = body.get("stream_options")
        want_usage = (
            isinstance(opts, dict) and opts.get("include_usage") is True and not b.omit_final_usage
        )
        # With include_usage, the real API puts "usage": null on every other chunk.
        head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        head.update(service_tier="default", system_fingerprint="fp_fake")
        if want_usage:
            head["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return b"data: " + _dumps({**head, "choices": [choice]}) + b"\n\n"

        # Only the text varies between content chunks: serialize the rest once.
        pre, _, post = chunk({"content": ""}).partition(b'"content":""')

        async def events(emit: _Emit) -> None:
            await emit("chunk.role", chunk({"role": "assistant", "content": "", "refusal": None}))
            await emit.deltas(
                _split_text(b.reply_text, b.n_deltas),
                lambda piece: pre + b'"content":' + _dumps(piece) + post,
                "chunk.delta",
            )
            if want_usage and b.openai_usage_chunk_has_choices:
                choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
                await emit(
                    "chunk.finish",
                    b"data: " + _dumps({**head, "choices": [choice], "usage": usage}) + b"\n\n",
                )
            else:
                await emit("chunk.finish", chunk({}, "stop"))
                if want_usage:
                    await emit(
                        "chunk.usage",
                        b"data: " + _dumps({**head, "choices": [], "usage": usage}) + b"\n\n",
                    )
            await emit("[DONE]", _OA_DONE)

        await self._stream(req, events)

    # ----- OpenAI Responses API -----

    async def _responses(self, req: _Request) -> None:
        body = self._parse(req)
        if body is None:
            await self._send_error(req, 400, "We could not parse the JSON body of your request.")
            return
        b = req.behavior
        if b.responses_final not in _RESPONSES_FINALS:
            raise ValueError(f"Behavior.responses_final={b.responses_final!r}")
        model = b.model_override or body.get("model") or "gpt-fake"
        response = _response_object(body, model)
        final = b.responses_final
        ended = "completed" if final == "completed" else "incomplete"  # the message's status
        # The output items, as they are when done: a reasoning item when the request asked
        # for reasoning (with encrypted_content if it asked for that too), the web searches,
        # then the message.
        items: list[dict[str, Any]] = []
        if isinstance(body.get("reasoning"), dict):
            reasoning: dict[str, Any] = {"id": _new_id("rs_"), "type": "reasoning", "summary": []}
            include = body.get("include")
            if isinstance(include, list) and "reasoning.encrypted_content" in include:
                reasoning["encrypted_content"] = "gAAAAAB" + uuid.uuid4().hex * 4
            items.append(reasoning)
        for i in range(b.web_search_calls):
            items.append(
                {
                    "id": _new_id("ws_"),
                    "type": "web_search_call",
                    "status": "completed",
                    "action": {"type": "search", "query": f"fake search {i + 1}"},
                }
            )
        msg_id = _new_id("msg_")
        message = _output_message(msg_id, b.reply_text, ended)
        items.append(message)
        usage = _responses_usage(b)

        def finished(with_usage: bool = True) -> dict[str, Any]:
            done = dict(response, status=final, output=items, usage=usage if with_usage else None)
            if final == "completed":
                done["completed_at"] = int(time.time())
            elif final == "incomplete":
                done["incomplete_details"] = {"reason": "max_output_tokens"}
            else:
                done["error"] = {"code": "server_error", "message": b.error_message}
            return done

        input_items = _input_items(body) if self.record and body.get("store") is not False else None
        if not body.get("stream"):
            done = finished()
            if input_items is not None:
                self.stored_responses[done["id"]] = (done, input_items)
            await self._send_json(req, 200, done)
            return

        seq = itertools.count()

        def event(kind: str, fields: dict[str, Any]) -> bytes:
            data = {"type": kind, "sequence_number": next(seq), **fields}
            return _sse(kind, _dumps(data))

        async def events(emit: _Emit) -> None:
            # created and in_progress carry the same in-progress response: serialize it once.
            head = _dumps(response)
            for kind in ("response.created", "response.in_progress"):
                data = b'{"type":"%s","sequence_number":%d,"response":' % (kind.encode(), next(seq))
                await emit(kind, _sse(kind, data + head + b"}"))
            index = 0
            for index, item in enumerate(items[:-1]):
                started = dict(item, status="in_progress") if "status" in item else item
                if item["type"] == "reasoning":
                    started = {k: v for k, v in item.items() if k != "encrypted_content"}
                if item["type"] == "web_search_call":
                    started["action"] = {"type": "search"}
                await emit(
                    "response.output_item.added",
                    event("response.output_item.added", {"output_index": index, "item": started}),
                )
                if item["type"] == "web_search_call":
                    ref = {"output_index": index, "item_id": item["id"]}
                    for phase in ("in_progress", "searching", "completed"):
                        kind = f"response.web_search_call.{phase}"
                        await emit(kind, event(kind, ref))
                await emit(
                    "response.output_item.done",
                    event("response.output_item.done", {"output_index": index, "item": item}),
                )
            index = len(items) - 1
            ref = {"item_id": msg_id, "output_index": index, "content_index": 0}
            await emit(
                "response.output_item.added",
                event(
                    "response.output_item.added",
                    {
                        "output_index": index,
                        "item": dict(message, status="in_progress", content=[]),
                    },
                ),
            )
            empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            await emit(
                "response.content_part.added",
                event("response.content_part.added", {**ref, "part": empty}),
            )
            # Only the text and the sequence number vary between deltas.
            pre = b"event: response.output_text.delta\ndata: " + (
                b'{"type":"response.output_text.delta","sequence_number":'
            )
            mid = b"," + _dumps(ref)[1:-1] + b',"logprobs":[],"delta":'
            await emit.deltas(
                _split_text(b.reply_text, b.n_deltas),
                lambda piece: pre + str(next(seq)).encode() + mid + _dumps(piece) + b"}\n\n",
                "response.output_text.delta",
            )
            await emit(
                "response.output_text.done",
                event("response.output_text.done", {**ref, "text": b.reply_text, "logprobs": []}),
            )
            await emit(
                "response.content_part.done",
                event("response.content_part.done", {**ref, "part": message["content"][0]}),
            )
            await emit(
                "response.output_item.done",
                event("response.output_item.done", {"output_index": index, "item": message}),
            )
            done = finished(with_usage=not b.omit_final_usage)
            if input_items is not None:
                self.stored_responses[done["id"]] = (done, input_items)
            kind = f"response.{final}"
            await emit(kind, event(kind, {"response": done}))

        await self._stream(req, events)

    def _stored_response(self, req: _Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The response the path names: the one this fake created, else a completed one
        made up from the current behaviour (with usage), with one user message as input."""
        response_id = _response_id(req.path)
        stored = self.stored_responses.get(response_id)
        if stored is not None:
            return stored
        b = req.behavior
        response = _response_object({}, b.model_override or "gpt-fake", response_id)
        response.update(
            status="completed",
            completed_at=response["created_at"],
            output=[_output_message(_new_id("msg_"), b.reply_text, "completed")],
            usage=_responses_usage(b),
        )
        user = {"type": "message", "role": "user", "status": "completed"}
        user.update(id=_new_id("msg_"), content=[{"type": "input_text", "text": "Hello"}])
        return response, [user]

    async def _responses_retrieve(self, req: _Request) -> None:
        await self._send_json(req, 200, self._stored_response(req)[0])

    async def _responses_cancel(self, req: _Request) -> None:
        response, input_items = self._stored_response(req)
        cancelled = dict(response, status="cancelled", completed_at=None)
        if self.record:
            self.stored_responses[cancelled["id"]] = (cancelled, input_items)
        await self._send_json(req, 200, cancelled)

    async def _responses_delete(self, req: _Request) -> None:
        response_id = _response_id(req.path)
        self.stored_responses.pop(response_id, None)
        await self._send_json(req, 200, {"id": response_id, "object": "response", "deleted": True})

    async def _responses_input_items(self, req: _Request) -> None:
        # Query: order (default "desc": newest first), limit (default 20), after (an item id).
        query = parse_qs(req.query)
        items = list(self._stored_response(req)[1])
        if query.get("order", ["desc"])[0] != "asc":
            items.reverse()
        after = query.get("after", [None])[0]
        ids = [item.get("id") for item in items]
        if after in ids:
            items = items[ids.index(after) + 1 :]
        try:
            limit = min(max(int(query.get("limit", ["20"])[0]), 1), 100)
        except ValueError:
            limit = 20
        page = items[:limit]
        await self._send_json(
            req,
            200,
            {
                "object": "list",
                "data": page,
                "first_id": page[0].get("id") if page else None,
                "last_id": page[-1].get("id") if page else None,
                "has_more": len(items) > limit,
            },
        )

    async def _responses_input_tokens(self, req: _Request) -> None:
        # The count of the whole input, cached part included, as usage.input_tokens reports it.
        b = req.behavior
        await self._send_json(
            req,
            200,
            {"object": "response.input_tokens", "input_tokens": b.input_tokens + b.cache_read},
        )


_RESPONSES_FINALS = ("completed", "incomplete", "failed")


def _tool_use_block(spec: dict[str, Any]) -> dict[str, Any]:
    """Behavior.tool_use -> an Anthropic tool_use content block."""
    tool_id = spec.get("id") or "toolu_01" + uuid.uuid4().hex[:22]
    return {"type": "tool_use", "id": tool_id, "name": spec["name"], "input": spec["input"]}


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _responses_usage(b: Behavior) -> dict[str, Any]:
    # Cached tokens are part of input_tokens, reasoning tokens part of output_tokens.
    inp = b.input_tokens + b.cache_read
    out = b.output_tokens + b.reasoning_tokens
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": b.cache_read, "cache_write_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": b.reasoning_tokens},
        "total_tokens": inp + out,
    }


def _output_message(msg_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "status": status,
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
        "role": "assistant",
    }


def _response_object(
    body: dict[str, Any], model: str, response_id: str | None = None
) -> dict[str, Any]:
    """A Response as the API sends it when it starts (status in_progress, no output, no
    usage), echoing the request's parameters as the real one does."""
    reasoning = body.get("reasoning")
    tier = body.get("service_tier")
    return {
        "id": response_id or _new_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": body.get("background") is True,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {
            "effort": reasoning.get("effort") if isinstance(reasoning, dict) else None,
            "summary": reasoning.get("summary") if isinstance(reasoning, dict) else None,
        },
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default" if tier in (None, "auto") else tier,
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's input as the input_items listing shows it (oldest first): a string is
    one user message; message content strings become input_text parts; every item has an id."""
    given = body.get("input")
    if isinstance(given, str):
        given = [{"type": "message", "role": "user", "content": given}]
    items = []
    for item in given if isinstance(given, list) else []:
        if not isinstance(item, dict):
            continue
        item = dict(item)
        if item.get("type", "message") == "message":
            content = item.get("content")
            if isinstance(content, str):
                content = [{"type": "input_text", "text": content}]
            item.update(type="message", content=content, status=item.get("status", "completed"))
        item.setdefault("id", _new_id("msg_"))
        items.append(item)
    return items


class _ClientGone(Exception):
    pass


class _Emit:
    """Writes SSE events one `send` each (so each is flushed as produced),
    compressing incrementally and watching for the client going away."""

    def __init__(self, upstream: FakeUpstream, req: _Request) -> None:
        self.upstream = upstream
        self.req = req
        self.compressor = _COMPRESSORS[req.coding]() if req.coding else None
        # receive() returns http.disconnect once the client is gone; uvicorn's
        # send() silently drops data after that, so we need this to stop early.
        self._watch = asyncio.ensure_future(req.receive())

    async def __call__(self, name: str, data: bytes) -> None:
        if self._watch.done():
            raise _ClientGone
        if self.compressor:
            data = self.compressor.chunk(data)
        # Logged just before the write, so a client's arrival time is never earlier
        # than the logged send time (the client thread may run before we resume).
        self.upstream._log(name)
        await self.req.send({"type": "http.response.body", "body": data, "more_body": True})

    async def deltas(self, pieces: list[str], render: Callable[[str], bytes], name: str) -> None:
        b = self.req.behavior
        drop = b.drop_after_deltas
        for i, piece in enumerate(pieces):
            if drop is not None and i >= drop:
                self._drop()
            if i and b.chunk_delay > 0:
                await asyncio.sleep(b.chunk_delay)
            await self(name, render(piece))
        if drop is not None:
            self._drop()  # drop_after_deltas >= number of deltas: drop after the last one

    def _drop(self) -> None:
        self.upstream._log("!dropped")
        raise _DropConnection  # uvicorn closes the transport mid chunked body

    def close_watch(self) -> None:
        if not self._watch.done():
            self._watch.cancel()


_Handler = Callable[[FakeUpstream, _Request], Awaitable[None]]

_ROUTES: dict[tuple[str, str], _Handler] = {
    ("POST", "/v1/messages"): FakeUpstream._messages,
    ("POST", "/v1/messages/count_tokens"): FakeUpstream._count_tokens,
    ("GET", "/v1/models"): FakeUpstream._models,
    ("POST", "/v1/chat/completions"): FakeUpstream._chat_completions,
    ("POST", "/v1/responses"): FakeUpstream._responses,
    ("POST", "/v1/responses/input_tokens"): FakeUpstream._responses_input_tokens,
}
# /v1/responses/{id}[/<action>]: (method, action) -> handler; the handler reads the id
# from the path (_response_id).
_RESPONSES_PREFIX = "/v1/responses/"
_RESPONSE_ROUTES: dict[tuple[str, str], _Handler] = {
    ("GET", ""): FakeUpstream._responses_retrieve,
    ("DELETE", ""): FakeUpstream._responses_delete,
    ("POST", "cancel"): FakeUpstream._responses_cancel,
    ("GET", "input_items"): FakeUpstream._responses_input_items,
}


def _find_route(method: str, path: str) -> _Handler | None:
    """Exact routes first, then the Responses API's /v1/responses/{id}[/action]."""
    handler = _ROUTES.get((method, path))
    if handler is not None or not path.startswith(_RESPONSES_PREFIX):
        return handler
    response_id, _, action = path[len(_RESPONSES_PREFIX) :].partition("/")
    if not response_id or "/" in action:
        return None
    return _RESPONSE_ROUTES.get((method, action))


def _response_id(path: str) -> str:
    return path[len(_RESPONSES_PREFIX) :].partition("/")[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Fake Anthropic/OpenAI upstream server (for benchmarks)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument(
        "--record", action="store_true", help="keep requests/sent_log (grows without bound)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="Behavior field, value as JSON or string",
    )
    args = parser.parse_args(argv)
    up = FakeUpstream(args.host, args.port, record=args.record)
    names = {f.name for f in fields(Behavior)}
    for item in args.set:
        key, _, raw = item.partition("=")
        if key not in names:
            parser.error(f"unknown Behavior field {key!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        setattr(up.behavior, key, value)
    logging.basicConfig(level=logging.WARNING)
    # The server runs in a thread; the main thread just waits for SIGINT/SIGTERM
    # (benchmark scripts usually stop background processes with SIGTERM).
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    up.start()
    print(f"fake upstream listening on {up.url}", flush=True)
    try:
        while not done.wait(1.0):
            pass
    finally:
        up.stop()


if __name__ == "__main__":
    main()
