"""Floor apps for `python -m bench.parts`: what granian + ASGI, and granian + ASGI +
forwarding (httpx as the proxy does it, or aiohttp) cost per request before any of the
proxy's own work (auth, DB, metering).

    BENCH_FLOOR_MODE=static|httpx|aiohttp BENCH_FLOOR_UPSTREAM=http://127.0.0.1:9999 \
        granian --interface asgi bench.floor_app:app
"""

from __future__ import annotations

import os
from typing import Any

import httpx

MODE = os.environ.get("BENCH_FLOOR_MODE", "static")
UPSTREAM = os.environ.get("BENCH_FLOOR_UPSTREAM", "http://127.0.0.1:9999")
# The same size as the fake's non-streaming Anthropic reply.
STATIC_BODY = (
    b'{"id":"msg_0123456789abcdef01234567","type":"message","role":"assistant","content":'
    b'[{"type":"text","text":"' + b"token " * 79 + b'token"}],"model":"claude-sonnet-4-5",'
    b'"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,'
    b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":12}}'
)
_DROP = {b"host", b"content-length", b"connection", b"x-api-key", b"authorization"}

_client: httpx.AsyncClient | None = None
_session: Any = None  # aiohttp.ClientSession, when MODE is "aiohttp" (optional package)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _client
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _client is not None:
                    await _client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    if MODE == "aiohttp":
        await _forward_aiohttp(scope, body, send)
        return
    if MODE == "static":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(STATIC_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": STATIC_BODY})
        return
    if _client is None:
        _client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
            trust_env=False,
        )
    path = scope["path"].removeprefix("/api")
    headers = [(k, v) for k, v in scope["headers"] if k not in _DROP]
    request = _client.build_request("POST", UPSTREAM + path, headers=headers, content=body)
    response = await _client.send(request, stream=True)
    try:
        out = [
            (k.lower(), v)
            for k, v in response.headers.raw
            if k.lower() not in (b"content-length", b"transfer-encoding", b"connection")
        ]
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        if not streamed:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            out.append((b"content-length", str(len(raw)).encode()))
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            await send({"type": "http.response.body", "body": raw})
            return
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await response.aclose()


async def _forward_aiohttp(scope: dict[str, Any], body: bytes, send: Any) -> None:
    global _session
    import aiohttp

    if _session is None:
        _session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512), auto_decompress=False
        )
    path = scope["path"].removeprefix("/api")
    headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k not in _DROP]
    async with _session.post(UPSTREAM + path, data=body, headers=headers) as response:
        out = [
            (k.lower(), v)
            for k, v in response.raw_headers
            if k.lower() not in (b"content-length", b"transfer-encoding", b"connection")
        ]
        if not response.content_type.startswith("text/event-stream"):
            raw = await response.content.read()
            out.append((b"content-length", str(len(raw)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            await send({"type": "http.response.body", "body": raw})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
