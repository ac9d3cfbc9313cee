"""Relaying an upstream response to the client: bytes pass through as they arrive (a stream
is never buffered) while a copy is decoded and metered on the way."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.types import Message, Receive, Send

from aiusage.proxy.decoding import decoder_for
from aiusage.proxy.sse import SSESplitter, event_fields
from aiusage.proxy.upstream import (
    UpstreamBroken,
    UpstreamResponse,
    UpstreamTimeout,
    response_headers,
)
from aiusage.proxy.usage_counts import Meter, OpenAIMeter

# Turns the SSE event blocks of one read into the bytes the client gets, metering them.
StreamFilter = Callable[[list[bytes]], bytes]
# Turns a whole answer (status, unencoded body) into the client's.
BodyRewriter = Callable[[int, bytes], tuple[int, bytes]]

log = logging.getLogger("aiusage.proxy")


@dataclass
class RelayOutcome:
    status: int = 0
    response_bytes: int = 0
    first_byte_at: float | None = None  # perf_counter when the first body byte went out
    streamed: bool = False
    error_type: str | None = None


class ClientGone(Exception):
    """The client closed the connection while we were sending."""


def _guarded(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def guarded_send(message: Message) -> None:
        try:
            await send(message)
        except OSError as error:  # the server reports a closed connection as an OSError
            raise ClientGone from error

    return guarded_send


async def relay_body(
    response: UpstreamResponse,
    send: Send,
    meter: Meter | None,
    extra: list[tuple[bytes, bytes]],
    answer: BodyRewriter | None = None,
) -> RelayOutcome:
    """Relays a whole answer. `answer`: rewrites the (unencoded) body for the client."""
    outcome = RelayOutcome(status=response.status)
    raw = await response.read()
    if meter is not None:
        try:
            decoder = decoder_for(response.content_encoding)
            meter.feed_body(
                decoder.decompress(raw) + (decoder.flush() if hasattr(decoder, "flush") else b"")
            )
        except Exception as error:  # unreadable body: forwarded as is, usage stays unknown
            log.warning("could not read usage from a response (%s)", type(error).__name__)
    status = response.status
    headers = response_headers(response.raw_headers)
    if answer is not None:
        status, raw = answer(status, raw)
        headers = [(name, value) for name, value in headers if name != b"content-type"]
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(raw)).encode()))
    send = _guarded(send)
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    outcome.first_byte_at = time.perf_counter()
    await send({"type": "http.response.body", "body": raw})
    outcome.response_bytes = len(raw)
    return outcome


async def relay_stream(
    response: UpstreamResponse,
    send: Send,
    receive: Receive,
    meter: Meter,
    extra: list[tuple[bytes, bytes]],
    *,
    stream_error: Callable[[str], bytes],
    stream_filter: StreamFilter | None,
) -> RelayOutcome:
    """Streams the SSE body through, metering each event. A `stream_filter` (the answer is
    rewritten: usage taken out, or translated to another API's events) turns the events of
    each read into the client's bytes; the upstream then sends them unencoded."""
    outcome = RelayOutcome(status=response.status, streamed=True)
    encoding = response.content_encoding
    decoder = decoder_for(encoding)
    splitter = SSESplitter()
    send = _guarded(send)
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": response_headers(response.raw_headers) + extra,
        }
    )

    async def pump() -> None:
        async for chunk in response.chunks():
            if stream_filter is not None:
                chunk = stream_filter(splitter.feed(chunk))
            else:
                for block in splitter.feed(decoder.decompress(chunk)):
                    meter.feed_event(block)
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if outcome.first_byte_at is None:
                    outcome.first_byte_at = time.perf_counter()
                outcome.response_bytes += len(chunk)

    try:
        if not await _until_done_or_disconnect(pump(), receive):
            outcome.error_type = "client_disconnected"
            return outcome
    except ClientGone:
        outcome.error_type = "client_disconnected"
        return outcome
    except (UpstreamBroken, UpstreamTimeout, ValueError, zlib.error) as error:
        # The upstream broke off (or sent bytes we cannot decode): tell the client in its
        # own format when the stream is plain text, then end it.
        outcome.error_type = "upstream_stream_error"
        log.warning("upstream stream ended early (%s)", type(error).__name__)
        if not encoding or encoding == "identity":
            event = stream_error("The upstream provider ended the stream early.")
            try:
                await send({"type": "http.response.body", "body": event, "more_body": True})
            except ClientGone:
                return outcome
    try:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except ClientGone:
        outcome.error_type = "client_disconnected"
    return outcome


async def _until_done_or_disconnect(work: Coroutine[Any, Any, None], receive: Receive) -> bool:
    """Runs `work` until it ends (True; its exception propagates) or the client
    disconnects first (False; `work` is cancelled, which closes the upstream stream)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    work_task = asyncio.ensure_future(work)
    watch_task = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({work_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work_task, watch_task):
            task.cancel()
        await asyncio.gather(work_task, watch_task, return_exceptions=True)
    if work_task.cancelled():
        return False
    work_task.result()  # re-raises what the work raised
    return True


def without_usage(blocks: list[bytes], meter: OpenAIMeter) -> bytes:
    """OpenAI chat chunks with the usage the proxy asked for (and the client did not) taken
    out, metered on the way."""
    out = []
    for block in blocks:
        chunk = meter.feed_data(event_fields(block)[1])
        if chunk is not None:
            if not chunk.get("choices"):
                continue  # the usage-only chunk the client did not ask for
            del chunk["usage"]  # a chunk with choices *and* usage: keep the choices
            block = b"data: " + json.dumps(chunk, separators=(",", ":")).encode()
        else:
            # Asked for usage, the upstream marks every other chunk "usage":null; a client
            # that did not ask gets its chunks as they would have been without it.
            block = block.replace(b',"usage":null', b"")
        out.append(block + b"\n\n")
    return b"".join(out)
