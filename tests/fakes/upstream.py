"""A fake Anthropic + OpenAI upstream: a real HTTP server on loopback.

Used in-process by tests (``with FakeUpstream() as up: ...``) and standalone by
the benchmark (``python -m tests.fakes.upstream --port 9999``).

It is a raw ASGI app served by uvicorn in a background thread with its own
event loop. Raw ASGI (no framework) keeps per-request work minimal, since the
benchmark measures the proxy in front of it, not this server.

Routes: ``POST /v1/messages``, ``POST /v1/messages/count_tokens``,
``GET /v1/models`` (Anthropic or OpenAI shape, by auth header) and
``POST /v1/chat/completions``. Behaviour is driven by the mutable
``FakeUpstream.behavior`` (see ``Behavior``).

``sent_log`` names: Anthropic events use their SSE event type
(``message_start``, ``content_block_delta``, ...). OpenAI events are named
``chunk.role``, ``chunk.delta``, ``chunk.finish``, ``chunk.usage`` and
``[DONE]``. Two markers (prefixed with ``!``) record abnormal ends:
``!dropped`` (drop_after_deltas closed the connection) and
``!client_disconnected`` (the client went away mid-stream; we stop sending).
"""

from __future__ import annotations

import argparse
import asyncio
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
    error_message: str = "fake upstream error"
    reply_text: str = "Hello from the fake upstream."
    input_tokens: int = 25
    output_tokens: int = 12
    cache_creation_5m: int = 0  # Anthropic cache write, 5-minute TTL
    cache_creation_1h: int = 0  # Anthropic cache write, 1-hour TTL
    cache_read: int = 0  # Anthropic cache_read_input_tokens / OpenAI cached_tokens
    chunk_delay: float = 0.0  # seconds between consecutive content deltas
    n_deltas: int = 4  # content deltas reply_text is split into (capped at len(text))
    response_delay: float = 0.0  # sleep before sending response headers
    drop_after_deltas: int | None = None  # streaming: abort the connection after N deltas
    omit_final_usage: bool = False  # streaming: no usage in message_delta / no usage chunk
    usage_updates: int = 1  # Anthropic streaming: message_delta events with cumulative usage
    openai_usage_chunk_has_choices: bool = False  # usage rides on the finish chunk
    compress: str | None = None  # "gzip" | "br" | "zstd", if Accept-Encoding allows it
    model_override: str | None = None  # model echoed back (default: the request's)
    first_event_delay: float = 0.0  # streaming: sleep between the headers and the first event
    web_search_requests: int = 0  # Anthropic usage.server_tool_use.web_search_requests
    # (name, value) pairs added to every response's headers, e.g. hop-by-hop ones
    extra_response_headers: list[tuple[str, str]] = field(default_factory=list)


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
        "receive",
        "req_id",
        "send",
    )

    def __init__(
        self, upstream: FakeUpstream, scope: Scope, receive: Receive, send: Send, body: bytes
    ) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
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
        self.openai = self.path.startswith("/v1/chat/") or (
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
                query=scope["query_string"].decode("latin-1"),
                headers=req.headers,
                body=body,
                received_at=received_at,
            )
            with self._lock:
                self.requests.append(rec)

        route = (req.method, req.path.rstrip("/"))
        if route not in _ROUTES:
            await self._send_error(req, 404, f"Not found: {req.method} {req.path}")
            return
        b = req.behavior
        if b.response_delay > 0:
            await asyncio.sleep(b.response_delay)
        if b.status != 200:
            await self._send_error(req, b.status, b.error_message)
            return
        await _ROUTES[route](self, req)

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
        message: dict[str, Any] = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": b.reply_text}],
            "model": model,
            "stop_reason": "end_turn",
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
            await emit("content_block_start", _A_BLOCK_START)
            await emit("ping", _A_PING)
            await emit.deltas(
                _split_text(b.reply_text, b.n_deltas),
                lambda piece: _A_DELTA_PREFIX + _dumps(piece) + b"}}\n\n",
                "content_block_delta",
            )
            await emit("content_block_stop", _A_BLOCK_STOP)
            updates = max(b.usage_updates, 1)
            for i in range(1, updates + 1):
                last = i == updates
                delta: dict[str, Any] = {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn" if last else None, "stop_sequence": None},
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
        usage = {
            "prompt_tokens": b.input_tokens + b.cache_read,
            "completion_tokens": b.output_tokens,
            "total_tokens": b.input_tokens + b.cache_read + b.output_tokens,
            "prompt_tokens_details": {"cached_tokens": b.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
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


_ROUTES: dict[tuple[str, str], Callable[[FakeUpstream, _Request], Awaitable[None]]] = {
    ("POST", "/v1/messages"): FakeUpstream._messages,
    ("POST", "/v1/messages/count_tokens"): FakeUpstream._count_tokens,
    ("GET", "/v1/models"): FakeUpstream._models,
    ("POST", "/v1/chat/completions"): FakeUpstream._chat_completions,
}


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
